"""The Firecracker API client: its REST API on a unix socket.

The request shapes follow Firecracker's own OpenAPI spec,
``src/firecracker/swagger/firecracker.yaml`` in ``firecracker-microvm/firecracker`` at
commit ``004d935399ba6062240af269638635d54229f5bf`` (spec ``info.version: 1.17.0-dev``):

=========================== ============================================================
``PUT /logger``             ``Logger`` (optional here: ``log_path``, ``level``)
``PUT /metrics``            ``Metrics`` (required: ``metrics_path``)
``PUT /machine-config``     ``MachineConfiguration`` (required: ``vcpu_count``,
                            ``mem_size_mib``)
``PUT /boot-source``        ``BootSource`` (required: ``kernel_image_path``; ``boot_args``,
                            ``initrd_path``)
``PUT /drives/{drive_id}``  ``Drive`` (required: ``drive_id``, ``is_root_device``;
                            ``path_on_host`` and ``is_read_only`` for virtio-block)
``PUT /actions``            ``InstanceActionInfo`` (required: ``action_type``, one of
                            ``FlushMetrics``, ``InstanceStart``, ``SendCtrlAltDel``)
=========================== ============================================================

Every one answers ``204`` on success and ``400`` (or another status) with the
``Error`` body ``{"fault_message": "..."}``; :class:`FirecrackerAPIError` carries it.
"""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from teragent.errors import RunError

SPEC_COMMIT = "004d935399ba6062240af269638635d54229f5bf"
SPEC_VERSION = "1.17.0-dev"


class FirecrackerAPIError(RunError):
    """Firecracker refused a request, or could not be started or reached.

    Attributes:
        method, path: The request (empty when the API was never reached).
        status: The HTTP status (0 when there was no response).
        fault_message: Firecracker's ``fault_message``.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int = 0,
                 fault_message: str = "") -> None:
        self.method, self.path, self.status = method, path, status
        self.fault_message = fault_message
        super().__init__(message)


class FirecrackerClient:
    """The Firecracker API over its unix socket (the calls this backend needs)."""

    def __init__(self, socket_path: str, *, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self._http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=socket_path),
                                       base_url="http://localhost", timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def put(self, path: str, body: Mapping[str, Any]) -> None:
        try:
            resp = await self._http.put(path, json=dict(body),
                                        headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise FirecrackerAPIError(
                f"Firecracker API request PUT {path} failed: {type(exc).__name__}: {exc}",
                method="PUT", path=path) from exc
        if resp.status_code == 204:
            return
        fault = ""
        try:
            data = resp.json()
            if isinstance(data, dict):
                fault = str(data.get("fault_message", ""))
        except ValueError:
            fault = resp.text[:500]
        raise FirecrackerAPIError(
            f"Firecracker refused PUT {path} (HTTP {resp.status_code}): "
            f"{fault or 'no fault_message'}. Check the backend's kernel, rootfs and "
            "memory options.", method="PUT", path=path, status=resp.status_code,
            fault_message=fault)

    async def machine_config(self, vcpu_count: int, mem_size_mib: int) -> None:
        await self.put("/machine-config", {"vcpu_count": vcpu_count,
                                           "mem_size_mib": mem_size_mib})

    async def boot_source(self, kernel_image_path: str, boot_args: str,
                          initrd_path: str | None = None) -> None:
        body: dict[str, Any] = {"kernel_image_path": kernel_image_path, "boot_args": boot_args}
        if initrd_path:
            body["initrd_path"] = initrd_path
        await self.put("/boot-source", body)

    async def drive(self, drive_id: str, path_on_host: str, *, is_root_device: bool,
                    is_read_only: bool) -> None:
        await self.put(f"/drives/{drive_id}", {
            "drive_id": drive_id, "path_on_host": path_on_host,
            "is_root_device": is_root_device, "is_read_only": is_read_only})

    async def logger(self, log_path: str, level: str = "Warning") -> None:
        await self.put("/logger", {"log_path": log_path, "level": level})

    async def metrics(self, metrics_path: str) -> None:
        await self.put("/metrics", {"metrics_path": metrics_path})

    async def action(self, action_type: str) -> None:
        await self.put("/actions", {"action_type": action_type})

"""Programs with no table, judged by how CLIs spell their actions (``teragent_shellguard.unknown``).

Spellings here appear in no corpus; each destructive case sits next to the benign neighbour
the rule must leave alone.
"""

from __future__ import annotations

import pytest

from teragent_shellguard.checker import check_command_safety

LEVEL = {
    # subcommand words: a destructive verb warns; total scope, a skipped prompt or prod refuses
    "quasarctl environments delete staging-2": "warn",
    "quasarctl environments list": "allow",
    "quasarctl environments delete staging-2 --dry-run": "allow",
    "quasarctl environments delete staging-2 --yes": "block",
    "quasarctl environments delete --all": "block",
    "quasarctl environments delete production": "block",
    "quasarctl environments delete eu-prod": "block",
    "paystack-cli plans delete PLN_prod9": "warn",  # an id that contains 'prod' is not production
    # noun:verb, verb-noun, VerbNoun, verb_all_nouns, --verb-noun
    "hoster apps:destroy shop -y": "block",
    "hoster apps:info shop": "allow",
    "cloudy delete-bucket --bucket logs": "warn",
    "cloudy describe-bucket --bucket logs": "allow",
    "acmecloud rds DeleteDBCluster --ClusterId c1": "warn",
    "acmecloud rds DescribeDBClusters": "allow",
    "mediahub admin purge_all_assets": "block",
    "widget --remove-tenant t1": "warn",
    "widget --remove-tenant t1 --force": "block",
    "widget --verbose --name t1": "allow",
    # reset/clear count only when they name remote state, not a local cache or build
    "dataplane db reset --linked": "warn",
    "nx reset": "allow",
    "toolx cache clear --all": "allow",
    "modelhub delete-cache": "allow",
    # inline queries: the database rules judge the text
    "edgedb-lite exec --sql=\"DROP TABLE invoices\"": "block",
    "edgedb-lite exec --sql 'SELECT * FROM invoices'": "allow",
    "kvtool run -c 'FLUSHDB'": "block",
    "sqlgate query --query \"DELETE FROM carts WHERE id = 7\"": "allow",
    "sqlgate query --query \"DELETE FROM carts\"": "block",
    # local tools keep their remove/clean verbs
    "uv remove httpx": "allow",
    "poetry remove httpx": "allow",
    "cargo remove tokio": "allow",
    "pipenv uninstall flask": "allow",
    "flutter clean": "allow",
    "jest --clearCache": "allow",
    "yarn cache clean": "allow",
    "git branch -d topic": "allow",
    "pytest -k 'delete_all or purge'": "allow",
    "vitest run src/delete-everything.test.ts": "allow",
    "rc-update del nginx default": "allow",
    "kind delete cluster": "allow",
    # a known cloud CLI whose handler says nothing about this subcommand
    "supabase orgs delete my-org --yes": "block",
    "supabase orgs list": "allow",
    # global options with a value before the subcommand: the words after them are still read
    "acme --profile staging db drop orders": "warn",
    "acme --profile staging db backup orders": "allow",
    "acme --region=eu-west-1 buckets delete logs": "warn",
    "acme --region=eu-west-1 buckets describe logs": "allow",
    "acme -n team-a secrets delete api-key": "warn",
    "acme -n team-a secrets list": "allow",
    "acme --config ./acme.yml --project web services delete api --yes": "block",
    "acme --config ./acme.yml --project web services show api": "allow",
    "widget --label=purge-old apps list": "allow",
    # production named only by a profile/context/env option value
    "acme db delete orders --profile=prod": "block",
    "acme db delete orders --profile=staging": "warn",
    "acme --context=production-eu clusters delete c1": "block",
    "acme --context=production-eu clusters describe c1": "allow",
    "acme queues delete orders --env=live": "block",
    "acme queues delete orders --tag=live": "warn",  # a tag is not where the command acts
    # ``down`` removes data only with a data flag
    "nhost down --volumes": "warn",
    "nhost down": "allow",
    "stackr --project infra down -v": "warn",
    "stackr down --timeout 5": "allow",
    "stackr down --rmi all": "warn",
    "stackr down --rmi local": "allow",
    "docker compose down -v": "warn",
    "docker compose -f dev.yml down --volumes": "warn",
    "docker compose down": "allow",
    "docker compose down --remove-orphans": "allow",
    "docker-compose down --rmi all": "warn",
    "docker-compose down": "allow",
    "podman compose down -v": "warn",
    "docker compose up -d": "allow",
}


@pytest.mark.parametrize(("cmd", "level"), sorted(LEVEL.items()))
def test_level(cmd: str, level: str) -> None:
    v = check_command_safety(cmd)
    assert v.level == level, f"{cmd!r}: expected {level}, got {v!r}"

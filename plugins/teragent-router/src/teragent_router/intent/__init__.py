"""Intent classification (CHAT / DEBUG / CREATE_PROJECT) and the confirmation gate.

Example::

    from teragent.intent import IntentClassifier, IntentType, ConfirmationGate

    intent = await IntentClassifier(provider).classify("Fix the bug in main.py")
    # IntentType.DEBUG
"""

from teragent_router.intent.classifier import IntentClassifier, IntentResult, IntentType
from teragent_router.intent.confirmation import ConfirmationGate

__all__ = ["IntentClassifier", "IntentResult", "IntentType", "ConfirmationGate"]

"""PaySimple API v4 and webhook emulator: `PaySimpleEmulator` serves, `PaySimpleEmulatorControl` drives."""

from emulators.paysimple.control import EmulatorRequestError, PaySimpleEmulatorControl
from emulators.paysimple.server import PaySimpleEmulator
from emulators.paysimple.signing import SIGNATURE_HEADER, SignatureEncoding, sign_webhook

__all__ = [
    "SIGNATURE_HEADER",
    "EmulatorRequestError",
    "PaySimpleEmulator",
    "PaySimpleEmulatorControl",
    "SignatureEncoding",
    "sign_webhook",
]

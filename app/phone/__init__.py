"""The phone bridge: dial-in with a PIN and "call me", joined into one phone conference per room.

A telephony provider sits behind :class:`app.phone.provider.PhoneProvider`: Twilio
(:mod:`app.phone.twilio`) or, in development, the console (:mod:`app.phone.console`).
:mod:`app.phone.bridge` answers the provider's webhooks and places "call me" calls.
"""

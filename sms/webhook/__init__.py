"""What faces Twilio over HTTP: the webhook view and the status callback, the form parsed into an
``InboundSms`` (``payload``), signature checks and TwiML answers. Deciding and storing is
``sms.services.intake``."""

"""SignalWire (Compatibility "LaML"/cXML REST API): a member of the Twilio family."""

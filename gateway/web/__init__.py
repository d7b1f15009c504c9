"""What both gateways' Persian pages share: templates, sessions, CSRF and the signed-in user."""

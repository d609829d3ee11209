"""Local stand-ins for outside systems (Twilio, media hosts, Speech, Gemini) on 127.0.0.1.

They are real HTTP servers, so the real client libraries run their real code against them.
The load test reuses them.
"""

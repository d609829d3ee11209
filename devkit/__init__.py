"""What the tests, ``manage.py sms_simulate``, the load test and the benchmarks share: Twilio
payloads and their signing (``payloads``), the fixtures they start from, real media files
(``media_files``) and local fake servers for Twilio, media hosts, Speech and Gemini (``fakes``).

It is runtime code that imports nothing from ``tests/`` (a layout test checks); ``tests/``
holds what only the test suite runs (live servers, TCP proxy, guards).
"""

"""ASGI plumbing shared by the API and the pages: headers, body limits, logging, clients."""

"""The domain of onetime: identifiers, crypto, secrets and receipts, policies.

This package is pure Python. It must not import a web framework, sqlite3 or redis:
it talks to storage only through the `onetime.store.base.Store` protocol it is given,
and to time only through a `Clock`. A test (tests/core/test_purity.py) keeps this true.
"""

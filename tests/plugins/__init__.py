"""Pytest plugins of the suite, registered in tests/conftest.py: shared (often costly) fixtures.

Test modules never import fixtures; they ask for them by name.
"""

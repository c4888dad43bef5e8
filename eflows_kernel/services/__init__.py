"""Services behind the REST API: plain Python, no HTTP, testable alone.

Each sub-package owns one concern (workflow registry, credential vault,
infrastructures, deployer, execution store) so the server extension and the
in-process client can share the same logic.
"""

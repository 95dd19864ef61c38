"""A faithful MemberPass v1 emulator for tests, the demo and benchmarks. The connector never imports it."""

from connector.sandbox.app import Sandbox, create_sandbox_app
from connector.sandbox.server import SandboxServer
from connector.sandbox.settings import SandboxSettings

__all__ = ["Sandbox", "SandboxServer", "SandboxSettings", "create_sandbox_app"]

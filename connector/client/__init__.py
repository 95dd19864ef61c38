"""The MemberPass client: one disciplined way to talk upstream (issue 3)."""

from connector.client.client import MemberPassClient, default_user_agent
from connector.client.governor import Limits, RateGovernor, governor_for
from connector.client.pagination import Pager, PageWalker, detect_style
from connector.client.result import Result
from connector.client.retry import RetryPolicy, equal_jitter, no_jitter

__all__ = [
    "Limits",
    "MemberPassClient",
    "PageWalker",
    "Pager",
    "RateGovernor",
    "Result",
    "RetryPolicy",
    "default_user_agent",
    "detect_style",
    "equal_jitter",
    "governor_for",
    "no_jitter",
]

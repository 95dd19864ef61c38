"""The 72 MemberPass webhook events (webhooks.md §9) with the minimum abilities a subscriber needs."""

from __future__ import annotations

_PROJECT = ("project:view-any",)
_RESOURCE = ("project-resource:view-any",)
_PLAN = ("project-subscription-plan:view-any",)
_SUBSCRIPTION = ("project-subscription:view-any",)
_MEMBER = ("project-user:view-any",)
_CODE = ("project-access-code:view-any",)
_TEAM = ("team:view-any",)
_TEAM_MEMBER = ("team:view-any", "team-member:invite")
_ROLE = ("role:view-any",)
_GROUP = ("group:view-any",)
_BILLING = ("billing:read",)

EVENTS: dict[str, tuple[str, ...]] = {
    # project.* (12)
    "project.created": _PROJECT,
    "project.updated": _PROJECT,
    "project.archived": _PROJECT,
    "project.restored": _PROJECT,
    "project.deleted": _PROJECT,
    "project.bot.connected": _PROJECT,
    "project.bot.disconnected": _PROJECT,
    "project.bot.status_changed": _PROJECT,
    "project.resource.created": _RESOURCE,
    "project.resource.linked": _RESOURCE,
    "project.resource.unlinked": _RESOURCE,
    "project.resource.deleted": _RESOURCE,
    # plan.* (6)
    "plan.created": _PLAN,
    "plan.updated": _PLAN,
    "plan.activated": _PLAN,
    "plan.deactivated": _PLAN,
    "plan.deleted": _PLAN,
    "plan.sync_completed": _PLAN,
    # subscription.* (16)
    "subscription.created": _SUBSCRIPTION,
    "subscription.activated": _SUBSCRIPTION,
    "subscription.trial_started": _SUBSCRIPTION,
    "subscription.trial_converting": _SUBSCRIPTION,
    "subscription.trial_expired": _SUBSCRIPTION,
    "subscription.renewed": _SUBSCRIPTION,
    "subscription.reactivated": _SUBSCRIPTION,
    "subscription.paused": _SUBSCRIPTION,
    "subscription.unpaused": _SUBSCRIPTION,
    "subscription.past_due": _SUBSCRIPTION,
    "subscription.unpaid": _SUBSCRIPTION,
    "subscription.cancelled": _SUBSCRIPTION,
    "subscription.expired": _SUBSCRIPTION,
    "subscription.refunded": _SUBSCRIPTION,
    "subscription.upgraded": _SUBSCRIPTION,
    "subscription.downgraded": _SUBSCRIPTION,
    # payment.* (4)
    "payment.succeeded": _SUBSCRIPTION,
    "payment.failed": _SUBSCRIPTION,
    "payment.pending": _SUBSCRIPTION,
    "payment.refunded": _SUBSCRIPTION,
    # member.* (10)
    "member.joined": _MEMBER,
    "member.trial_joined": _MEMBER,
    "member.converted": _MEMBER,
    "member.churned": _MEMBER,
    "member.removed": _MEMBER,
    "member.banned": _MEMBER,
    "member.unbanned": _MEMBER,
    "member.kicked": _MEMBER,
    "member.resource_added": _MEMBER,
    "member.resource_removed": _MEMBER,
    # access_code.* (3)
    "access_code.generated": _CODE,
    "access_code.redeemed": _CODE,
    "access_code.expired": _CODE,
    # team.* (6)
    "team.created": _TEAM,
    "team.deleted": _TEAM,
    "team.member.invited": _TEAM_MEMBER,
    "team.member.joined": _TEAM_MEMBER,
    "team.member.removed": _TEAM_MEMBER,
    "team.member.role_changed": _TEAM_MEMBER,
    # role.* (3)
    "role.created": _ROLE,
    "role.updated": _ROLE,
    "role.deleted": _ROLE,
    # group.* (3)
    "group.created": _GROUP,
    "group.updated": _GROUP,
    "group.deleted": _GROUP,
    # billing.* (9)
    "billing.invoice_created": _BILLING,
    "billing.invoice_paid": _BILLING,
    "billing.invoice_overdue": _BILLING,
    "billing.payment_failed": _BILLING,
    "billing.grace_period_warning": _BILLING,
    "billing.account_locked": _BILLING,
    "billing.tier_upgraded": _BILLING,
    "billing.tier_downgraded": _BILLING,
    "billing.tier_cancelled": _BILLING,
}

# Team-level families carry `project_id: null` in their envelope.
TEAM_LEVEL_PREFIXES = ("team.", "role.", "group.", "billing.")

assert len(EVENTS) == 72, len(EVENTS)


def is_team_level(event_type: str) -> bool:
    return event_type.startswith(TEAM_LEVEL_PREFIXES)

"""The global currency table behind plan `currency_id` / `currency` (ISO 4217).

MemberPass exposes currencies only through `cur_` ids on plans and payments; v1 has no currency route, so
the table is internal. It is global (no `_team`) and filled lazily, so it survives `POST /_sandbox/reset`.
"""

from __future__ import annotations

from connector.sandbox.ids import new_id
from connector.sandbox.store import Obj, Store

TABLE = "currencies"

# code: (name, symbol)
SEED: dict[str, tuple[str, str]] = {
    "USD": ("US Dollar", "$"),
    "EUR": ("Euro", "€"),
    "GBP": ("Pound Sterling", "£"),
    "INR": ("Indian Rupee", "₹"),
    "LKR": ("Sri Lankan Rupee", "Rs"),
    "BRL": ("Brazilian Real", "R$"),
}


def ensure_currencies(store: Store) -> None:
    """Fill the table on first use (again after a reset)."""
    with store.lock:
        if store.table(TABLE):
            return
        for code, (name, symbol) in SEED.items():
            store.insert(
                TABLE, {"id": new_id("cur"), "code": code, "name": name, "symbol": symbol, "decimals": 2}
            )


def currency_by_code(store: Store, code: str) -> Obj | None:
    """The currency with this ISO 4217 code (case-insensitive), or None."""
    ensure_currencies(store)
    wanted = code.upper()
    return next((c for c in store.table(TABLE).values() if c["code"] == wanted), None)


def currency_by_id(store: Store, currency_id: str) -> Obj | None:
    ensure_currencies(store)
    return store.get(TABLE, currency_id)

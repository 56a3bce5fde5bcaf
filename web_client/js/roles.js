// What each role may do, for the interface only: the server decides and enforces.
// The table comes from the server (hearing_server/domain/roles.py) with the join
// response and the welcome; nothing here copies it.

let CAPABILITIES = {};

export function setCapabilities(table) {
  if (table && typeof table === "object") CAPABILITIES = table;
}

export function can(role, capability) {
  return (CAPABILITIES[role] || []).includes(capability);
}

/** Order people are listed in: the bench first, the gallery last. */
export function roleRank(role) {
  const i = ["judge", "mediator", "reception", "clerk", "counsel", "party", "visitor", "witness", "interpreter", "observer"].indexOf(role);
  return i < 0 ? 99 : i;
}

export function byRoleThenName(a, b) {
  return roleRank(a.role) - roleRank(b.role) || String(a.name).localeCompare(String(b.name));
}

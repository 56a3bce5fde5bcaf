// What each role may do, for the interface only: the server decides and enforces.
// Mirrors hearing_server/domain/roles.py (ROLE_CAPABILITIES).

const CAPABILITIES = {
  judge: ["publish", "share_screen", "subscribe", "enter_directly", "see_lobby", "admit", "moderate", "record", "conduct"],
  clerk: ["publish", "share_screen", "subscribe", "enter_directly", "see_lobby", "admit", "moderate"],
  mediator: ["publish", "share_screen", "subscribe", "enter_directly", "see_lobby", "admit", "moderate", "record", "conduct", "caucus"],
  party: ["publish", "share_screen", "subscribe"],
  counsel: ["publish", "share_screen", "subscribe"],
  witness: ["publish", "subscribe"],
  interpreter: ["publish", "subscribe"],
  observer: ["subscribe"],
};

export const ROLES = Object.keys(CAPABILITIES);

export function can(role, capability) {
  return (CAPABILITIES[role] || []).includes(capability);
}

/** Order people are listed in: the bench first, the gallery last. */
export function roleRank(role) {
  const i = ["judge", "mediator", "clerk", "counsel", "party", "witness", "interpreter", "observer"].indexOf(role);
  return i < 0 ? 99 : i;
}

export function byRoleThenName(a, b) {
  return roleRank(a.role) - roleRank(b.role) || String(a.name).localeCompare(String(b.name));
}

//! How a Lua script reaches Redis: the generated `tier_of` (from the one tier rule in
//! [`crate::domain::tiers`]), the shared helpers of `scripts/common.lua`, then the script.
//! Every script is built this way ([`script!`]), so any of them may use the helpers and
//! none writes a helper again.

use crate::domain::tiers::{OLDEST, TIER_ENDS};

/// `static NAME: LazyLock<Script> = script!("file.lua");` — `scripts/file.lua` with the
/// generated `tier_of` and `scripts/common.lua` before it (see [`source`]).
macro_rules! script {
    ($file:literal) => {
        std::sync::LazyLock::new(|| {
            redis::Script::new(&$crate::store::redis::lua::source(include_str!(concat!(
                "scripts/", $file
            ))))
        })
    };
}

/// A script as Redis runs it: the generated `tier_of`, the shared helpers
/// (`scripts/common.lua`), then the script.
pub fn source(script: &str) -> String {
    format!(
        "{}{}{script}",
        lua_tier_of(),
        include_str!("scripts/common.lua")
    )
}

/// The tier rule of [`TIER_ENDS`] as the Lua function the scripts call:
/// `tier_of(age, active, idle, stale)` → the tier's name, or `nil` for a session that is not
/// in the live index (`age == nil`).
pub fn lua_tier_of() -> String {
    let params: Vec<&str> = TIER_ENDS.iter().map(|(_, b)| b.name).collect();
    let mut lua = format!(
        "local function tier_of(age, {})\n  if age == nil then return nil end\n",
        params.join(", ")
    );
    for (tier, bound) in &TIER_ENDS {
        lua.push_str(&format!(
            "  if age < {} then return '{tier}' end\n",
            bound.name
        ));
    }
    lua.push_str(&format!("  return '{OLDEST}'\nend\n"));
    lua
}

#[cfg(test)]
mod tests {
    use super::lua_tier_of;

    #[test]
    fn the_lua_tier_rule_is_generated_from_the_domain_rule() {
        assert_eq!(
            lua_tier_of(),
            "local function tier_of(age, active, idle, stale)\n  if age == nil then return nil end\n  \
             if age < active then return 'active' end\n  if age < idle then return 'idle' end\n  \
             if age < stale then return 'stale' end\n  return 'abandoned'\nend\n"
        );
    }
}

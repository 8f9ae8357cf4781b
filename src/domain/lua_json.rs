//! JSON as Redis's Lua writes it back: cjson encodes an empty table as `{}`, so a record a
//! script edited may carry `{}` where Rust wrote `[]`. Records both stores share (lock
//! answers, task states) accept either.

use serde::{Deserialize, Deserializer};

/// Lua's cjson encodes an empty table as `{}`; accept that (and `null`) as an empty list.
pub fn lua_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Object(m) if m.is_empty() => Ok(Vec::new()),
        serde_json::Value::Null => Ok(Vec::new()),
        other => serde_json::from_value(other).map_err(serde::de::Error::custom),
    }
}

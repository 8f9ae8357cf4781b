//! A map that remembers which of its rows changed: the unit of the embedded store's
//! write-through to SQLite.
//!
//! Every record type of the embedded store lives in a [`Table`] — one SQLite table, one row
//! per record, the key in its own column(s) and the record as JSON in `value`. A decision
//! changes tables in memory under the state mutex; afterwards [`AnyTable::take_changes`]
//! hands the changed rows (new value, or deleted) to the journal, which commits them before
//! the answer leaves (see `journal.rs`). Reading never marks anything; every way of changing
//! a row does, so a change cannot be forgotten.
//!
//! Adding a record type: see the module comment of `memory/mod.rs`.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeBounds;

use rusqlite::types::Value as SqlValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The key of a table's rows, as SQL column values (one per key column).
pub trait TableKey: Ord + Clone + Send + 'static {
    /// How many key columns this key fills.
    const ARITY: usize;
    fn to_sql(&self) -> Vec<SqlValue>;
    fn from_sql(columns: &[SqlValue]) -> Option<Self>;
}

fn text(v: &SqlValue) -> Option<String> {
    match v {
        SqlValue::Text(s) => Some(s.clone()),
        _ => None,
    }
}

fn int(v: &SqlValue) -> Option<u64> {
    match v {
        SqlValue::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

impl TableKey for String {
    const ARITY: usize = 1;
    fn to_sql(&self) -> Vec<SqlValue> {
        vec![SqlValue::Text(self.clone())]
    }
    fn from_sql(c: &[SqlValue]) -> Option<Self> {
        text(c.first()?)
    }
}

impl TableKey for (String, String) {
    const ARITY: usize = 2;
    fn to_sql(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.0.clone()),
            SqlValue::Text(self.1.clone()),
        ]
    }
    fn from_sql(c: &[SqlValue]) -> Option<Self> {
        Some((text(c.first()?)?, text(c.get(1)?)?))
    }
}

impl TableKey for (String, u64, u64) {
    const ARITY: usize = 3;
    fn to_sql(&self) -> Vec<SqlValue> {
        // SQLite integers are i64; ours (ms since the epoch, sequence numbers) fit easily.
        vec![
            SqlValue::Text(self.0.clone()),
            SqlValue::Integer(self.1 as i64),
            SqlValue::Integer(self.2 as i64),
        ]
    }
    fn from_sql(c: &[SqlValue]) -> Option<Self> {
        Some((text(c.first()?)?, int(c.get(1)?)?, int(c.get(2)?)?))
    }
}

impl TableKey for (u64, u64) {
    const ARITY: usize = 2;
    fn to_sql(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Integer(self.0 as i64),
            SqlValue::Integer(self.1 as i64),
        ]
    }
    fn from_sql(c: &[SqlValue]) -> Option<Self> {
        Some((int(c.first()?)?, int(c.get(1)?)?))
    }
}

/// One changed row: the new value as JSON, or `None` when the row was deleted.
#[derive(Debug, Clone)]
pub struct RowChange {
    pub table: &'static str,
    pub key: Vec<SqlValue>,
    pub value: Option<String>,
}

/// A table as the journal sees it, whatever its key and record types.
pub trait AnyTable: Send {
    /// Appends the rows changed since the last call (and forgets them).
    fn take_changes(
        &mut self,
        table: &'static str,
        out: &mut Vec<RowChange>,
    ) -> Result<(), serde_json::Error>;
    /// Puts one row read from disk into memory (not marked as changed).
    fn load_row(&mut self, key: &[SqlValue], value: &str) -> Result<(), String>;
    /// Marks every row changed (a migration writes them all).
    fn mark_all(&mut self);
    /// Forgets pending changes (a store that is not persisted).
    fn clear_changes(&mut self);
    fn key_arity(&self) -> usize;
}

/// An ordered map of records whose changes are written through to SQLite.
#[derive(Debug, Clone)]
pub struct Table<K: TableKey, V> {
    rows: BTreeMap<K, V>,
    changed: BTreeSet<K>,
}

impl<K: TableKey, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            changed: BTreeSet::new(),
        }
    }
}

impl<K: TableKey, V> Table<K, V> {
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rows.get(key)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.rows.contains_key(key)
    }

    /// The row for changing in place (marked changed).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.rows.get_key_value(key) {
            Some((k, _)) => {
                let k = k.clone();
                self.changed.insert(k);
                self.rows.get_mut(key)
            }
            None => None,
        }
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.changed.insert(key.clone());
        self.rows.insert(key, value)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, v) = self.rows.remove_entry(key)?;
        self.changed.insert(k);
        Some(v)
    }

    /// The row for `key`, created with `V::default()` if absent (marked changed).
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.changed.insert(key.clone());
        self.rows.entry(key).or_default()
    }

    /// Keeps the rows for which `keep` is true; the others are deleted (marked changed).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let changed = &mut self.changed;
        self.rows.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                changed.insert(k.clone());
            }
            kept
        });
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.rows.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.rows.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.rows.values()
    }

    pub fn range<R: RangeBounds<K>>(&self, range: R) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.rows.range(range)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl<K: TableKey, V: Serialize + DeserializeOwned + Send> AnyTable for Table<K, V> {
    fn take_changes(
        &mut self,
        table: &'static str,
        out: &mut Vec<RowChange>,
    ) -> Result<(), serde_json::Error> {
        for key in std::mem::take(&mut self.changed) {
            let value = match self.rows.get(&key) {
                Some(v) => Some(serde_json::to_string(v)?),
                None => None,
            };
            out.push(RowChange {
                table,
                key: key.to_sql(),
                value,
            });
        }
        Ok(())
    }

    fn load_row(&mut self, key: &[SqlValue], value: &str) -> Result<(), String> {
        let k = K::from_sql(key).ok_or_else(|| format!("a key of the wrong type: {key:?}"))?;
        let v = serde_json::from_str(value).map_err(|e| format!("{e} in {value}"))?;
        self.rows.insert(k, v);
        Ok(())
    }

    fn mark_all(&mut self) {
        self.changed.extend(self.rows.keys().cloned());
    }

    fn clear_changes(&mut self) {
        self.changed.clear();
    }

    fn key_arity(&self) -> usize {
        K::ARITY
    }
}

impl<K: TableKey, V> FromIterator<(K, V)> for Table<K, V> {
    /// A table holding these rows, none marked changed (rows read from elsewhere).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            rows: iter.into_iter().collect(),
            changed: BTreeSet::new(),
        }
    }
}

/// One table of a part of the state, as registered for the journal.
pub struct TableRef<'a> {
    /// The SQLite table name.
    pub name: &'static str,
    /// Names of the key columns, in key order.
    pub key_columns: &'static [&'static str],
    pub table: &'a mut dyn AnyTable,
}

impl<'a> TableRef<'a> {
    /// `table` registered as the SQLite table `name` with these key columns.
    pub fn new(
        name: &'static str,
        key_columns: &'static [&'static str],
        table: &'a mut dyn AnyTable,
    ) -> Self {
        Self {
            name,
            key_columns,
            table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(t: &mut Table<String, u64>) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        t.take_changes("t", &mut out).unwrap();
        out.into_iter()
            .map(|c| (String::from_sql(&c.key).unwrap(), c.value))
            .collect()
    }

    #[test]
    fn every_way_of_changing_a_row_is_recorded_and_reads_are_not() {
        let mut t: Table<String, u64> = Table::default();
        t.insert("a".into(), 1);
        t.insert("b".into(), 2);
        *t.get_or_default("c".into()) += 3;
        assert_eq!(changes(&mut t).len(), 3);
        assert!(changes(&mut t).is_empty(), "taken once");
        let _ = t.get("a");
        let _ = t.iter().count();
        assert!(changes(&mut t).is_empty(), "reads mark nothing");
        *t.get_mut("a").unwrap() = 10;
        t.remove("b");
        t.retain(|k, _| k != "c");
        assert!(t.get_mut("missing").is_none());
        assert_eq!(
            changes(&mut t),
            vec![
                ("a".into(), Some("10".into())),
                ("b".into(), None),
                ("c".into(), None)
            ]
        );
    }
}

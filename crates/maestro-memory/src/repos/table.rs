//! [`Table`]: the record store shared by the id-keyed repositories.

use std::collections::{BTreeSet, HashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use maestro_domain::model::Millis;
use maestro_domain::ports::Mutator;
use maestro_domain::{DomainError, Result};

/// A record a [`Table`] can hold.
pub(crate) trait Record: Clone + PartialEq + Send + Sync + 'static {
    /// Resource name of `NotFound` / `Conflict` messages (`Task`, `Session`, …).
    const RESOURCE: &'static str;
    fn id(&self) -> &str;
    /// Creation time: listings are sorted by it, ties by id.
    fn created(&self) -> Millis;
    /// The project this record is indexed under, if it is indexed.
    fn group(&self) -> Option<&str>;
}

/// Sort key of a listing: creation time, then id.
type Key = (Millis, String);

fn key_of<T: Record>(row: &T) -> Key {
    (row.created(), row.id().to_owned())
}

struct Inner<T> {
    rows: HashMap<String, T>,
    /// Every row, in listing order.
    order: BTreeSet<Key>,
    /// Rows per group (project), in listing order.
    groups: HashMap<String, BTreeSet<Key>>,
}

impl<T: Record> Inner<T> {
    fn index(&mut self, row: &T) {
        let key = key_of(row);
        if let Some(group) = row.group() {
            self.groups
                .entry(group.to_owned())
                .or_default()
                .insert(key.clone());
        }
        self.order.insert(key);
    }

    fn unindex(&mut self, row: &T) {
        let key = key_of(row);
        if let Some(group) = row.group()
            && let Some(keys) = self.groups.get_mut(group)
        {
            keys.remove(&key);
            if keys.is_empty() {
                self.groups.remove(group);
            }
        }
        self.order.remove(&key);
    }

    fn collect<'k>(
        &self,
        keys: impl Iterator<Item = &'k Key>,
        keep: impl Fn(&T) -> bool,
    ) -> Vec<T> {
        keys.filter_map(|(_, id)| self.rows.get(id))
            .filter(|row| keep(row))
            .cloned()
            .collect()
    }
}

/// Records keyed by id, with listings in creation order and an optional per-project index.
///
/// All methods are synchronous and never hold the lock across an `.await`.
pub(crate) struct Table<T> {
    inner: RwLock<Inner<T>>,
}

impl<T: Record> Default for Table<T> {
    fn default() -> Self {
        Self {
            inner: RwLock::new(Inner {
                rows: HashMap::new(),
                order: BTreeSet::new(),
                groups: HashMap::new(),
            }),
        }
    }
}

impl<T: Record> Table<T> {
    // A writer never leaves the table half-changed (the mutator works on a clone), so a
    // poisoned lock holds consistent data and is safe to recover.
    fn read(&self) -> RwLockReadGuard<'_, Inner<T>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<T>> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new record; `Conflict` if its id exists.
    pub(crate) fn insert(&self, row: T) -> Result<T> {
        let mut inner = self.write();
        if inner.rows.contains_key(row.id()) {
            return Err(DomainError::Conflict(format!(
                "{} with id '{}' already exists",
                T::RESOURCE,
                row.id()
            )));
        }
        inner.index(&row);
        inner.rows.insert(row.id().to_owned(), row.clone());
        Ok(row)
    }

    pub(crate) fn get(&self, id: &str) -> Option<T> {
        self.read().rows.get(id).cloned()
    }

    /// Atomic read-modify-write of one record (see the port guarantees).
    pub(crate) fn update(&self, id: &str, change: Mutator<'_, T>) -> Result<T> {
        let mut inner = self.write();
        let Some(current) = inner.rows.get(id) else {
            return Err(DomainError::not_found(T::RESOURCE, id));
        };
        let mut next = current.clone();
        change(&mut next)?;
        if next == *current {
            return Ok(next);
        }
        if next.id() != id {
            return Err(DomainError::Internal(format!(
                "an update of {} '{id}' tried to change its id to '{}'",
                T::RESOURCE,
                next.id()
            )));
        }
        let previous = current.clone();
        if key_of(&previous) != key_of(&next) || previous.group() != next.group() {
            inner.unindex(&previous);
            inner.index(&next);
        }
        inner.rows.insert(id.to_owned(), next.clone());
        Ok(next)
    }

    /// Removes a record; whether it existed.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let mut inner = self.write();
        match inner.rows.remove(id) {
            Some(row) => {
                inner.unindex(&row);
                true
            }
            None => false,
        }
    }

    /// Records in listing order that pass `keep`: all of them, or those of one group (then
    /// the cost is proportional to that group).
    pub(crate) fn list(&self, group: Option<&str>, keep: impl Fn(&T) -> bool) -> Vec<T> {
        let inner = self.read();
        match group {
            None => inner.collect(inner.order.iter(), keep),
            Some(group) => match inner.groups.get(group) {
                Some(keys) => inner.collect(keys.iter(), keep),
                None => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, Debug)]
    struct Row {
        id: String,
        group: String,
        at: Millis,
    }

    impl Record for Row {
        const RESOURCE: &'static str = "Row";
        fn id(&self) -> &str {
            &self.id
        }
        fn created(&self) -> Millis {
            self.at
        }
        fn group(&self) -> Option<&str> {
            Some(&self.group)
        }
    }

    fn row(id: &str, group: &str, at: Millis) -> Row {
        Row {
            id: id.into(),
            group: group.into(),
            at,
        }
    }

    #[test]
    fn an_update_may_not_change_the_id() {
        let table = Table::default();
        table.insert(row("a", "g", 1)).unwrap();
        let err = table
            .update("a", &|r: &mut Row| {
                r.id = "b".into();
                Ok(())
            })
            .unwrap_err();
        assert!(matches!(err, DomainError::Internal(_)));
        assert_eq!(table.get("a"), Some(row("a", "g", 1)));
        assert_eq!(table.get("b"), None);
    }

    #[test]
    fn indexes_follow_updates_and_removals() {
        let table = Table::default();
        table.insert(row("a", "g1", 5)).unwrap();
        table.insert(row("b", "g1", 3)).unwrap();
        table
            .update("b", &|r: &mut Row| {
                r.at = 9;
                r.group = "g2".into();
                Ok(())
            })
            .unwrap();
        assert_eq!(table.list(Some("g1"), |_| true), vec![row("a", "g1", 5)]);
        assert_eq!(table.list(Some("g2"), |_| true), vec![row("b", "g2", 9)]);
        assert_eq!(
            table.list(None, |_| true),
            vec![row("a", "g1", 5), row("b", "g2", 9)]
        );
        assert!(table.remove("a"));
        let inner = table.read();
        assert!(!inner.groups.contains_key("g1"), "empty groups are dropped");
        assert_eq!(inner.order.len(), 1);
    }

    #[test]
    fn a_panicking_mutator_leaves_the_table_usable_and_unchanged() {
        let table = std::sync::Arc::new(Table::<Row>::default());
        table.insert(row("a", "g", 1)).unwrap();
        let t = std::sync::Arc::clone(&table);
        let joined = std::thread::spawn(move || {
            let _ = t.update("a", &|r: &mut Row| {
                r.at = 2;
                panic!("mutator bug");
            });
        })
        .join();
        assert!(joined.is_err());
        assert_eq!(table.get("a"), Some(row("a", "g", 1)));
        table.insert(row("b", "g", 2)).unwrap();
        assert_eq!(table.list(Some("g"), |_| true).len(), 2);
    }
}

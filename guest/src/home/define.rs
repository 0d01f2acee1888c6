//! Defining indexes and schemas. A definition changes the catalog in the call; the commit builds
//! a new index from the table's records, or checks them all against a new schema (views.rs), so
//! a definition takes effect with the call that made it, or not at all.

use super::catalog::{Index, IndexKind, Watched, display};
use super::codec::KeyCode;
use super::commit::new_id;
use super::schema::Schema;
use super::{GLOBAL, HomeError, Inner};

/// An index as its definition names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    pub table: Vec<KeyCode>,
    pub field: Vec<KeyCode>,
    pub kind: IndexKind,
}

fn shown(path: &[KeyCode]) -> String {
    match display(path) {
        path if path.is_empty() => GLOBAL.to_string(),
        path => format!("{GLOBAL}.{path}"),
    }
}

impl Inner {
    /// Refuses a definition on a path that leads through something other than a table. A path
    /// that leads nowhere yet is fine: the table is indexed or checked when it appears.
    fn check_table_path(&mut self, table: &[KeyCode], what: &str) -> Result<(), HomeError> {
        let way = self.walk_table_path(None, table)?;
        match way.obstacle {
            Some((at, kind)) => Err(HomeError::Invalid(format!(
                "{} is a {kind}, not a table: {what} is on a table of records",
                shown(&table[..=at])
            ))),
            None => Ok(()),
        }
    }

    /// The watched table at `table`, added to the catalog if need be.
    fn watched_mut(&mut self, table: &[KeyCode]) -> Result<&mut Watched, HomeError> {
        let catalog = &mut self.catalog()?.current;
        if catalog.table_at(table).is_none() {
            let id = new_id();
            catalog.tables.push(Watched { id, path: table.to_vec(), indexes: Vec::new(), schema: None });
        }
        Ok(catalog.table_at_mut(table).unwrap_or_else(|| unreachable!("added above")))
    }

    pub(super) fn create_index(
        &mut self,
        table: Vec<KeyCode>,
        field: Vec<KeyCode>,
        kind: IndexKind,
    ) -> Result<IndexInfo, HomeError> {
        self.check_table_path(&table, "an index")?;
        let watched = self.watched_mut(&table)?;
        let id = watched.id;
        match watched.indexes.iter_mut().find(|index| index.field == field) {
            // The kind is only recorded: both are the same ordered index.
            Some(index) => index.kind = kind,
            None => {
                watched.indexes.push(Index { id: new_id(), field: field.clone(), kind });
                self.catalog()?.rebuild.insert(id);
            }
        }
        Ok(IndexInfo { table, field, kind })
    }

    /// Drops the index on `field` of `table`; whether there was one.
    pub(super) fn drop_index(&mut self, table: &[KeyCode], field: &[KeyCode]) -> Result<bool, HomeError> {
        let state = self.catalog()?;
        let Some(watched) = state.current.table_at_mut(table) else { return Ok(false) };
        let Some(at) = watched.indexes.iter().position(|index| index.field == field) else { return Ok(false) };
        let index = watched.indexes.remove(at);
        state.dropped.push(index.id);
        state.current.prune();
        Ok(true)
    }

    pub(super) fn indexes(&mut self) -> Result<Vec<IndexInfo>, HomeError> {
        let catalog = &self.catalog()?.current;
        Ok(catalog
            .tables
            .iter()
            .flat_map(|t| {
                t.indexes.iter().map(|i| IndexInfo { table: t.path.clone(), field: i.field.clone(), kind: i.kind })
            })
            .collect())
    }

    /// Sets (or with `None` removes) the schema of the records of `table`.
    pub(super) fn set_schema(&mut self, table: Vec<KeyCode>, schema: Option<Schema>) -> Result<(), HomeError> {
        match schema {
            Some(schema) => {
                self.check_table_path(&table, "a schema")?;
                let watched = self.watched_mut(&table)?;
                watched.schema = Some(schema);
                let id = watched.id;
                self.catalog()?.rebuild.insert(id);
            }
            None => {
                let state = self.catalog()?;
                if let Some(watched) = state.current.table_at_mut(&table) {
                    watched.schema = None;
                }
                state.current.prune();
            }
        }
        Ok(())
    }

    pub(super) fn schema(&mut self, table: &[KeyCode]) -> Result<Option<Schema>, HomeError> {
        Ok(self.catalog()?.current.table_at(table).and_then(|t| t.schema.clone()))
    }
}

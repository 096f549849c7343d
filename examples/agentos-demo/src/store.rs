//! SQLite storage for sessions and runs (a file in the data directory; survives restarts).
//!
//! Every method blocks (SQLite I/O behind a mutex): call them from a blocking thread, never from
//! an async worker. The service layer does ([`crate::Demo`]'s storage operations hop to
//! `tokio::task::spawn_blocking`); the store itself knows no runtime and no framework.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::DemoError;

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// `agents`, `teams` or `workflows`.
    pub kind: String,
    /// The agent, team or workflow id.
    pub component_id: String,
    /// Who ran it.
    pub user_id: Option<String>,
    /// Its session.
    pub session_id: String,
    /// The echoed content.
    pub content: String,
    /// `completed` or `cancelled`.
    pub status: String,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// The session id.
    pub session_id: String,
    /// Its owner.
    pub user_id: Option<String>,
    /// `agents`, `teams` or `workflows`.
    pub component_type: String,
    /// The component it belongs to.
    pub component_id: String,
    /// How many runs it holds.
    pub runs: i64,
}

/// The store: one SQLite connection behind a mutex (the demo's load is tiny).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> DemoError {
    DemoError::Store(e.to_string())
}

impl Store {
    /// Opens (and creates) the database file.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(path: &Path) -> Result<Self, DemoError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS sessions (
                 session_id TEXT PRIMARY KEY,
                 user_id TEXT,
                 component_type TEXT NOT NULL,
                 component_id TEXT NOT NULL,
                 created_at INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS runs (
                 run_id TEXT PRIMARY KEY,
                 kind TEXT NOT NULL,
                 component_id TEXT NOT NULL,
                 user_id TEXT,
                 session_id TEXT NOT NULL,
                 content TEXT NOT NULL,
                 status TEXT NOT NULL,
                 created_at INTEGER NOT NULL
             );",
        )
        .map_err(db)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent; keep serving.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A session by id.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>, DemoError> {
        session_in(&self.conn(), id).map_err(db)
    }

    /// Sessions, all or one user's, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sessions(&self, user: Option<&str>) -> Result<Vec<SessionRecord>, DemoError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT s.session_id, s.user_id, s.component_type, s.component_id,
                        (SELECT COUNT(*) FROM runs r WHERE r.session_id = s.session_id)
                 FROM sessions s
                 WHERE ?1 IS NULL OR s.user_id = ?1
                 ORDER BY s.created_at, s.session_id",
            )
            .map_err(db)?;
        let rows = stmt.query_map(params![user], session_row).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Records a run, creating its session when new, unless the session exists and `may_use`
    /// refuses it: the check and the write are one transaction under the lock, so no other
    /// request can create or delete the session in between. `Ok(false)` when refused.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record_run(
        &self,
        run: &RunRecord,
        now: i64,
        may_use: impl FnOnce(&SessionRecord) -> bool,
    ) -> Result<bool, DemoError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        if let Some(existing) = session_in(&tx, &run.session_id).map_err(db)?
            && !may_use(&existing)
        {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR IGNORE INTO sessions (session_id, user_id, component_type, component_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run.session_id, run.user_id, run.kind, run.component_id, now],
        )
        .map_err(db)?;
        tx.execute(
            "INSERT INTO runs (run_id, kind, component_id, user_id, session_id, content, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                run.run_id,
                run.kind,
                run.component_id,
                run.user_id,
                run.session_id,
                run.content,
                run.status,
                now
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(true)
    }

    /// Runs of one component, all or one user's, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn runs(
        &self,
        kind: &str,
        component_id: &str,
        user: Option<&str>,
    ) -> Result<Vec<RunRecord>, DemoError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT run_id, kind, component_id, user_id, session_id, content, status FROM runs
                 WHERE kind = ?1 AND component_id = ?2 AND (?3 IS NULL OR user_id = ?3)
                 ORDER BY created_at, rowid",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![kind, component_id, user], run_row)
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// One run.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>, DemoError> {
        run_in(&self.conn(), run_id).map_err(db)
    }

    /// Marks a run cancelled when it exists and `may_cancel` allows it (one transaction);
    /// `Ok(false)` when there is no such run or it was refused.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn cancel(
        &self,
        run_id: &str,
        may_cancel: impl FnOnce(&RunRecord) -> bool,
    ) -> Result<bool, DemoError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        match run_in(&tx, run_id).map_err(db)? {
            Some(run) if may_cancel(&run) => {}
            _ => return Ok(false),
        }
        tx.execute(
            "UPDATE runs SET status = 'cancelled' WHERE run_id = ?1",
            params![run_id],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(true)
    }

    /// Deletes a session and its runs when it exists and `may_delete` allows it (one
    /// transaction); `Ok(false)` when there is no such session or it was refused.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn delete_session(
        &self,
        id: &str,
        may_delete: impl FnOnce(&SessionRecord) -> bool,
    ) -> Result<bool, DemoError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(db)?;
        match session_in(&tx, id).map_err(db)? {
            Some(session) if may_delete(&session) => {}
            _ => return Ok(false),
        }
        tx.execute("DELETE FROM runs WHERE session_id = ?1", params![id])
            .map_err(db)?;
        tx.execute("DELETE FROM sessions WHERE session_id = ?1", params![id])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(true)
    }
}

fn session_in(conn: &Connection, id: &str) -> rusqlite::Result<Option<SessionRecord>> {
    conn.query_row(
        "SELECT s.session_id, s.user_id, s.component_type, s.component_id,
                (SELECT COUNT(*) FROM runs r WHERE r.session_id = s.session_id)
         FROM sessions s WHERE s.session_id = ?1",
        params![id],
        session_row,
    )
    .optional()
}

fn run_in(conn: &Connection, run_id: &str) -> rusqlite::Result<Option<RunRecord>> {
    conn.query_row(
        "SELECT run_id, kind, component_id, user_id, session_id, content, status FROM runs
         WHERE run_id = ?1",
        params![run_id],
        run_row,
    )
    .optional()
}

fn session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        session_id: row.get(0)?,
        user_id: row.get(1)?,
        component_type: row.get(2)?,
        component_id: row.get(3)?,
        runs: row.get(4)?,
    })
}

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        run_id: row.get(0)?,
        kind: row.get(1)?,
        component_id: row.get(2)?,
        user_id: row.get(3)?,
        session_id: row.get(4)?,
        content: row.get(5)?,
        status: row.get(6)?,
    })
}

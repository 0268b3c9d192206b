//! The mail store the SMTP, POP3 and IMAP servers share: SQLite through rusqlite, in a
//! data directory (or in memory, by an explicit choice). Accounts, mailboxes with their
//! UIDVALIDITY and UIDNEXT (RFC 9051 §2.3.1.1), messages with flags.
//!
//! Durability: every change is one transaction, committed (WAL, `synchronous=FULL`)
//! before the call returns, so a message the SMTP server answered 250 for has reached
//! the disk first (RFC 5321 §6.1: with the 250 the server "accepts responsibility").
//! The protocol machines never touch it: their drivers call it between the machine's
//! request (an event) and its answer (a command).

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;

/// An account's row id.
pub type AccountId = i64;

/// Why a store call failed.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    /// The account already exists.
    Exists(String),
    /// No such account or mailbox.
    NotFound(String),
    /// The mailbox would hold more than its account's quota (RFC 5321 §4.2.2's 552
    /// "exceeded storage allocation").
    OverQuota(String),
    /// The store could not be reached or could not commit now: try again later (SMTP's
    /// 451, RFC 5321 §4.2.2).
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "mail store: {e}"),
            StoreError::Exists(a) => write!(f, "the account {a} exists already"),
            StoreError::NotFound(what) => write!(f, "no {what}"),
            StoreError::OverQuota(a) => write!(f, "the mailbox of {a} is full"),
            StoreError::Unavailable(why) => write!(f, "the mail store is unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A message as a mailbox lists it (no content).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: u32,
    pub size: u64,
    /// IMAP flags, `\Seen` and the like (RFC 9051 §2.3.2).
    pub flags: Vec<String>,
    /// When the store took it, seconds since the Unix epoch (IMAP's INTERNALDATE).
    pub internal_date: i64,
}

/// A mailbox at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub messages: Vec<MessageMeta>,
}

/// A change to an account's INBOX, as the sessions watching it hear of it (RFC 9051
/// §7.3.1 EXISTS, §7.5.2 FETCH, §7.5.1 EXPUNGE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChange {
    New(MessageMeta),
    Flags { uid: u32, flags: Vec<String> },
    Expunged { uid: u32 },
}

/// A change and who made it: [`MailStore::set_origin`]'s value at the time (0: no
/// session, e.g. SMTP delivery), so a session can leave out its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub origin: u64,
    pub change: StoreChange,
}

/// The change bus: one broadcast channel per account with someone listening. Changes
/// are published while the store is locked, right after their commit, so every
/// listener hears them in commit order; a listener that subscribes under the same lock
/// as it reads a snapshot misses nothing and hears nothing twice.
#[derive(Clone, Debug, Default)]
pub struct MailBus(Arc<Mutex<HashMap<AccountId, broadcast::Sender<Notice>>>>);

/// How many changes a listener may fall behind before it is told it lagged.
const BUS_CAPACITY: usize = 1024;

impl MailBus {
    pub fn subscribe(&self, account: AccountId) -> broadcast::Receiver<Notice> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(account).or_insert_with(|| broadcast::channel(BUS_CAPACITY).0).subscribe()
    }

    fn publish(&self, account: AccountId, notice: Notice) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&account)
            && tx.send(notice).is_err()
        {
            // Nobody listens any more.
            map.remove(&account);
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS account (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE COLLATE NOCASE,
    salt BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY,
    account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL,
    UNIQUE (account, name)
);
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY,
    mailbox INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL,
    UNIQUE (mailbox, uid)
);
-- account also has the columns of ACCOUNT_COLUMNS.
CREATE TABLE IF NOT EXISTS outbound (
    id INTEGER PRIMARY KEY,
    hop_from TEXT NOT NULL,
    reverse_path TEXT NOT NULL,
    recipient TEXT NOT NULL,
    data BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL
);
";

/// The account columns for browser sessions (`POST /mail/session`): made for one, to
/// expire after a time without use (a login, or mail delivered), with a quota.
const ACCOUNT_COLUMNS: [(&str, &str); 4] = [
    ("ephemeral", "INTEGER NOT NULL DEFAULT 0"),
    ("last_used", "INTEGER NOT NULL DEFAULT 0"),
    ("creator", "TEXT NOT NULL DEFAULT ''"),
    ("quota", "INTEGER"),
];

/// A message waiting in the outbound queue for the next hop (RFC 5321 §3.6, §4.5.4.1):
/// one row per recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The domain whose server relays it: the name it gives in EHLO.
    pub hop_from: String,
    /// The reverse-path, `a@b.test`, or empty for the null reverse-path `<>` (bounces,
    /// RFC 5321 §4.5.5).
    pub reverse_path: String,
    /// The forward-path, `bob@south.test`.
    pub recipient: String,
    /// The content, with this server's `Received:` first.
    pub data: Vec<u8>,
}

/// A queued message as the relay reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub message: Outbound,
    /// Attempts made so far (each ended with a temporary failure).
    pub attempts: u32,
    pub last_error: String,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn hash(salt: &[u8], password: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    h.finalize().to_vec()
}

/// One SMTP transaction's outcome to store ([`MailStore::accept_many`]): a copy for each
/// local recipient, and the copies to relay.
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub local: Vec<String>,
    pub data: Vec<u8>,
    pub outbound: Vec<Outbound>,
}

/// A new message in `account`'s INBOX, inside a transaction; its UID. An account with a
/// quota takes it only if it stays within it.
fn insert_message(tx: &rusqlite::Connection, account: AccountId, data: &[u8]) -> Result<u32> {
    let (quota, address): (Option<i64>, String) =
        tx.query_row("SELECT quota, address FROM account WHERE id = ?1", [account], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // What the mailbox holds is summed only for an account with a quota (a browser
    // session's, 1 MiB): summing it for every message of an unlimited one made each
    // delivery slower than the last (mail-bench: 1892, then 783, then 526 messages/s).
    if let Some(q) = quota {
        let used: i64 = tx.query_row(
            "SELECT coalesce(sum(length(m.data)), 0) FROM message m JOIN mailbox b ON m.mailbox = b.id
             WHERE b.account = ?1",
            [account],
            |r| r.get(0),
        )?;
        if used + data.len() as i64 > q {
            return Err(StoreError::OverQuota(address));
        }
    }
    tx.execute("UPDATE account SET last_used = ?1 WHERE id = ?2", params![now_secs(), account])?;
    let (mailbox, uid): (i64, u32) =
        tx.query_row("SELECT id, uidnext FROM mailbox WHERE account = ?1 AND name = 'INBOX'", [account], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    tx.execute(
        "INSERT INTO message (mailbox, uid, internal_date, data) VALUES (?1, ?2, ?3, ?4)",
        params![mailbox, uid, now_secs(), data],
    )?;
    tx.execute("UPDATE mailbox SET uidnext = ?1 WHERE id = ?2", params![uid + 1, mailbox])?;
    Ok(uid)
}

fn insert_outbound(tx: &rusqlite::Connection, o: &Outbound) -> Result<i64> {
    tx.execute(
        "INSERT INTO outbound (hop_from, reverse_path, recipient, data, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![o.hop_from, o.reverse_path, o.recipient, o.data, now_secs()],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The store. One connection; callers serialise access (the server holds it in a mutex
/// and calls it from blocking tasks).
#[derive(Debug)]
pub struct MailStore {
    db: Connection,
    bus: MailBus,
    /// Who makes the changes now (see [`Notice::origin`]).
    origin: u64,
}

impl MailStore {
    /// Opens (or creates) `dir/mail.sqlite3`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::NotFound(format!("data directory {} ({e})", dir.display())))?;
        let db = Connection::open(dir.join("mail.sqlite3"))?;
        // WAL with FULL sync: a commit is on disk when it returns, and readers do not
        // block the writer.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        Self::init(db)
    }

    /// A store that lives only as long as the process (`--in-memory`).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Self> {
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.execute_batch(SCHEMA)?;
        // Columns added since the first schema: a store made before gets them here.
        let columns: Vec<String> = db
            .prepare("SELECT name FROM pragma_table_info('account')")?
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        for (name, decl) in ACCOUNT_COLUMNS {
            if !columns.iter().any(|c| c == name) {
                db.execute_batch(&format!("ALTER TABLE account ADD COLUMN {name} {decl}"))?;
            }
        }
        Ok(MailStore { db, bus: MailBus::default(), origin: 0 })
    }

    /// Creates the two accounts of one browser session (`u…@north.test`, `u…@south.test`)
    /// with one password, in one transaction: accounts that expire after a time without
    /// use, made by `creator` (a client address), each holding at most `quota` octets.
    pub fn create_session(&mut self, addresses: &[String], password: &str, creator: &str, quota: u64) -> Result<()> {
        let tx = self.db.transaction()?;
        for a in addresses {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt).map_err(|e| StoreError::NotFound(format!("randomness ({e})")))?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO account (address, salt, password_hash, created, ephemeral, last_used, creator, quota)
                 VALUES (?1, ?2, ?3, ?4, 1, ?4, ?5, ?6)",
                params![a, &salt[..], hash(&salt, password), now_secs(), creator, quota as i64],
            )?;
            if n == 0 {
                return Err(StoreError::Exists(a.clone()));
            }
            tx.execute(
                "INSERT INTO mailbox (account, name, uidvalidity, uidnext) VALUES (?1, 'INBOX', ?2, 1)",
                params![tx.last_insert_rowid(), (now_secs() as u32).max(1)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many session accounts there are: all, and `creator`'s.
    pub fn session_accounts(&self, creator: &str) -> Result<(u64, u64)> {
        Ok(self.db.query_row(
            "SELECT count(*), coalesce(sum(creator = ?1), 0) FROM account WHERE ephemeral = 1",
            [creator],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Removes the session accounts unused for `idle_secs` (their mail goes with them);
    /// how many went. The demo accounts are never removed.
    pub fn expire_sessions(&mut self, idle_secs: u64) -> Result<usize> {
        let before = now_secs() - idle_secs as i64;
        Ok(self.db.execute("DELETE FROM account WHERE ephemeral = 1 AND last_used < ?1", [before])?)
    }

    fn touch(&self, account: AccountId) -> Result<()> {
        self.db.execute("UPDATE account SET last_used = ?1 WHERE id = ?2", params![now_secs(), account])?;
        Ok(())
    }

    /// The change bus.
    pub fn bus(&self) -> &MailBus {
        &self.bus
    }

    /// Changes from now on are `origin`'s (0: nobody's in particular).
    pub fn set_origin(&mut self, origin: u64) {
        self.origin = origin;
    }

    fn publish(&self, account: AccountId, change: StoreChange) {
        self.bus.publish(account, Notice { origin: self.origin, change });
    }

    fn published_new(&self, account: AccountId, uid: u32, data: &[u8]) {
        let meta = MessageMeta { uid, size: data.len() as u64, flags: Vec::new(), internal_date: now_secs() };
        self.publish(account, StoreChange::New(meta));
    }

    /// Creates `address` with `password` and its INBOX.
    pub fn create_account(&mut self, address: &str, password: &str) -> Result<AccountId> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| StoreError::NotFound(format!("randomness ({e})")))?;
        let tx = self.db.transaction()?;
        let exists: Option<i64> =
            tx.query_row("SELECT id FROM account WHERE address = ?1", [address], |r| r.get(0)).optional()?;
        if exists.is_some() {
            return Err(StoreError::Exists(address.to_string()));
        }
        tx.execute(
            "INSERT INTO account (address, salt, password_hash, created) VALUES (?1, ?2, ?3, ?4)",
            params![address, &salt[..], hash(&salt, password), now_secs()],
        )?;
        let id = tx.last_insert_rowid();
        // UIDVALIDITY: any value that changes if UIDs are ever reused; the creation time
        // serves (RFC 9051 §2.3.1.1 suggests a timestamp).
        tx.execute(
            "INSERT INTO mailbox (account, name, uidvalidity, uidnext) VALUES (?1, 'INBOX', ?2, 1)",
            params![id, (now_secs() as u32).max(1)],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Creates the account unless it exists (then leaves its password as it is).
    pub fn ensure_account(&mut self, address: &str, password: &str) -> Result<AccountId> {
        match self.account(address)? {
            Some(id) => Ok(id),
            None => self.create_account(address, password),
        }
    }

    /// The account for `address` (any case), if there is one.
    pub fn account(&self, address: &str) -> Result<Option<AccountId>> {
        Ok(self.db.query_row("SELECT id FROM account WHERE address = ?1", [address], |r| r.get(0)).optional()?)
    }

    /// The account if `password` is its password.
    pub fn authenticate(&self, address: &str, password: &str) -> Result<Option<AccountId>> {
        let row: Option<(i64, Vec<u8>, Vec<u8>)> = self
            .db
            .query_row("SELECT id, salt, password_hash FROM account WHERE address = ?1", [address], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let id = row.filter(|(_, salt, h)| hash(salt, password) == *h).map(|(id, _, _)| id);
        if let Some(id) = id {
            self.touch(id)?;
        }
        Ok(id)
    }

    fn mailbox_id(&self, account: AccountId, name: &str) -> Result<i64> {
        self.db
            .query_row("SELECT id FROM mailbox WHERE account = ?1 AND name = ?2", params![account, name], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))
    }

    /// Stores `data` in `address`'s INBOX; `None` when there is no such account. The
    /// message is on disk when this returns.
    pub fn deliver(&mut self, address: &str, data: &[u8]) -> Result<Option<u32>> {
        let Some(account) = self.account(address)? else { return Ok(None) };
        let tx = self.db.transaction()?;
        let uid = insert_message(&tx, account, data)?;
        tx.commit()?;
        self.published_new(account, uid, data);
        Ok(Some(uid))
    }

    /// One SMTP transaction's outcome, all or nothing, in one SQLite transaction: a copy
    /// in each local recipient's INBOX and a row in the outbound queue for each recipient
    /// to relay. Only after this returns may the server say 250 (RFC 5321 §6.1). The
    /// INBOX UIDs, in the order of `local`; an unknown local address is `NotFound` and
    /// nothing is kept.
    pub fn accept(&mut self, local: &[String], data: &[u8], outbound: &[Outbound]) -> Result<Vec<u32>> {
        let job = Acceptance { local: local.to_vec(), data: data.to_vec(), outbound: outbound.to_vec() };
        self.accept_many(std::slice::from_ref(&job))?.pop().unwrap_or_else(|| Err(StoreError::NotFound("job".into())))
    }

    /// Several SMTP transactions' outcomes with one commit, one fsync (group commit): each
    /// all or nothing by itself (a savepoint each), so one refused (a full mailbox, a
    /// vanished account) leaves the others stored. Each result in order; `Err` for all
    /// when the commit itself fails, and then nothing is stored. Every message is on disk
    /// when this returns, so each may be answered 250 (RFC 5321 §6.1).
    pub fn accept_many(&mut self, jobs: &[Acceptance]) -> Result<Vec<Result<Vec<u32>>>> {
        let mut tx = self.db.transaction()?;
        let mut results = Vec::with_capacity(jobs.len());
        let mut published = Vec::new();
        for job in jobs {
            let sp = tx.savepoint()?;
            let one = (|| {
                let mut accounts = Vec::new();
                for a in &job.local {
                    let id: Option<AccountId> =
                        sp.query_row("SELECT id FROM account WHERE address = ?1", [a], |r| r.get(0)).optional()?;
                    accounts.push(id.ok_or_else(|| StoreError::NotFound(format!("account {a}")))?);
                }
                let mut uids = Vec::new();
                for &account in &accounts {
                    uids.push(insert_message(&sp, account, &job.data)?);
                }
                for o in &job.outbound {
                    insert_outbound(&sp, o)?;
                }
                Ok((accounts, uids))
            })();
            match one {
                Ok((accounts, uids)) => {
                    sp.commit()?;
                    published.push((accounts, uids.clone(), &job.data));
                    results.push(Ok(uids));
                }
                // Dropping the savepoint rolls this one back, and only this one.
                Err(e) => results.push(Err(e)),
            }
        }
        tx.commit()?;
        for (accounts, uids, data) in published {
            for (account, uid) in accounts.into_iter().zip(uids) {
                self.published_new(account, uid, data);
            }
        }
        Ok(results)
    }

    /// Puts one message in the outbound queue (a bounce, RFC 5321 §4.5.5).
    pub fn enqueue(&mut self, o: &Outbound) -> Result<i64> {
        let tx = self.db.transaction()?;
        let id = insert_outbound(&tx, o)?;
        tx.commit()?;
        Ok(id)
    }

    /// The outbound queue, oldest first, at most `limit` rows.
    pub fn queued(&self, limit: usize) -> Result<Vec<Queued>> {
        let mut stmt = self.db.prepare(
            "SELECT id, hop_from, reverse_path, recipient, data, attempts, last_error FROM outbound ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Queued {
                id: r.get(0)?,
                message: Outbound {
                    hop_from: r.get(1)?,
                    reverse_path: r.get(2)?,
                    recipient: r.get(3)?,
                    data: r.get(4)?,
                },
                attempts: r.get(5)?,
                last_error: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Records a temporary failure: one more attempt, and why.
    pub fn defer(&mut self, id: i64, error: &str) -> Result<()> {
        self.db.execute(
            "UPDATE outbound SET attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
            params![error, id],
        )?;
        Ok(())
    }

    /// Takes a message off the queue: delivered, or given up on with `bounce` queued in
    /// its place, in the same transaction (so a crash loses neither).
    pub fn dequeue(&mut self, id: i64, bounce: Option<&Outbound>) -> Result<()> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM outbound WHERE id = ?1", [id])?;
        if let Some(b) = bounce {
            insert_outbound(&tx, b)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The mailbox's UIDs, sizes and flags, in UID order.
    pub fn snapshot(&self, account: AccountId, name: &str) -> Result<Snapshot> {
        let (id, uidvalidity, uidnext): (i64, u32, u32) = self
            .db
            .query_row(
                "SELECT id, uidvalidity, uidnext FROM mailbox WHERE account = ?1 AND name = ?2",
                params![account, name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))?;
        let mut stmt = self
            .db
            .prepare("SELECT uid, length(data), flags, internal_date FROM message WHERE mailbox = ?1 ORDER BY uid")?;
        let messages = stmt
            .query_map([id], |r| {
                let flags: String = r.get(2)?;
                Ok(MessageMeta {
                    uid: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    flags: flags.split_whitespace().map(str::to_string).collect(),
                    internal_date: r.get(3)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Snapshot { uidvalidity, uidnext, messages })
    }

    /// A message's bytes.
    pub fn message(&self, account: AccountId, name: &str, uid: u32) -> Result<Option<Vec<u8>>> {
        let mailbox = self.mailbox_id(account, name)?;
        Ok(self
            .db
            .query_row("SELECT data FROM message WHERE mailbox = ?1 AND uid = ?2", params![mailbox, uid], |r| r.get(0))
            .optional()?)
    }

    /// Replaces a message's flags; false if there is no such message.
    pub fn set_flags(&mut self, account: AccountId, name: &str, uid: u32, flags: &[String]) -> Result<bool> {
        let mailbox = self.mailbox_id(account, name)?;
        let n = self.db.execute(
            "UPDATE message SET flags = ?1 WHERE mailbox = ?2 AND uid = ?3",
            params![flags.join(" "), mailbox, uid],
        )?;
        if n == 1 {
            self.publish(account, StoreChange::Flags { uid, flags: flags.to_vec() });
        }
        Ok(n == 1)
    }

    /// Removes messages for good (POP3's UPDATE state, IMAP's EXPUNGE), in one
    /// transaction; returns how many went.
    pub fn remove(&mut self, account: AccountId, name: &str, uids: &[u32]) -> Result<usize> {
        let mailbox = self.mailbox_id(account, name)?;
        let tx = self.db.transaction()?;
        let mut gone = Vec::new();
        for &uid in uids {
            if tx.execute("DELETE FROM message WHERE mailbox = ?1 AND uid = ?2", params![mailbox, uid])? > 0 {
                gone.push(uid);
            }
        }
        tx.commit()?;
        for &uid in &gone {
            self.publish(account, StoreChange::Expunged { uid });
        }
        Ok(gone.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_deliveries_flags_and_removal() -> Result<()> {
        let mut s = MailStore::in_memory()?;
        let alice = s.create_account("alice@north.test", "wirelab")?;
        assert!(matches!(s.create_account("ALICE@north.test", "x"), Err(StoreError::Exists(_))));
        assert_eq!(s.authenticate("alice@north.test", "wirelab")?, Some(alice));
        assert_eq!(s.authenticate("alice@north.test", "wrong")?, None);
        assert_eq!(s.authenticate("nobody@north.test", "wirelab")?, None);
        assert_eq!(s.deliver("alice@north.test", b"Subject: one\r\n\r\nhi\r\n")?, Some(1));
        assert_eq!(s.deliver("alice@north.test", b"Subject: two\r\n\r\nho\r\n")?, Some(2));
        assert_eq!(s.deliver("bob@south.test", b"x")?, None);
        let snap = s.snapshot(alice, "INBOX")?;
        assert_eq!((snap.uidnext, snap.messages.len()), (3, 2));
        assert_eq!(snap.messages[0].size, 20);
        assert!(s.set_flags(alice, "INBOX", 2, &["\\Seen".to_string()])?);
        assert_eq!(s.snapshot(alice, "INBOX")?.messages[1].flags, ["\\Seen"]);
        assert_eq!(s.remove(alice, "INBOX", &[1, 7])?, 1);
        let snap = s.snapshot(alice, "INBOX")?;
        // UIDs are never reused: the next one is still 3 (RFC 9051 §2.3.1.1).
        assert_eq!((snap.uidnext, snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>()), (3, vec![2]));
        assert_eq!(s.message(alice, "INBOX", 2)?.as_deref(), Some(&b"Subject: two\r\n\r\nho\r\n"[..]));
        assert_eq!(s.message(alice, "INBOX", 1)?, None);
        Ok(())
    }

    #[test]
    fn accept_is_all_or_nothing_and_the_queue_keeps_its_rows() -> Result<()> {
        let mut s = MailStore::in_memory()?;
        let alice = s.create_account("alice@north.test", "wirelab")?;
        let out = Outbound {
            hop_from: "north.test".into(),
            reverse_path: "alice@north.test".into(),
            recipient: "bob@south.test".into(),
            data: b"Subject: x\r\n\r\n".to_vec(),
        };
        // An unknown local recipient: nothing delivered, nothing queued.
        let both = ["alice@north.test".to_string(), "nobody@north.test".to_string()];
        assert!(matches!(s.accept(&both, b"x", std::slice::from_ref(&out)), Err(StoreError::NotFound(_))));
        assert!(s.snapshot(alice, "INBOX")?.messages.is_empty());
        assert!(s.queued(10)?.is_empty());
        assert_eq!(s.accept(&both[..1], b"x", std::slice::from_ref(&out))?, [1]);
        let q = s.queued(10)?;
        assert_eq!((q.len(), &q[0].message, q[0].attempts), (1, &out, 0));
        s.defer(q[0].id, "421 busy")?;
        assert_eq!((s.queued(10)?[0].attempts, s.queued(10)?[0].last_error.as_str()), (1, "421 busy"));
        let bounce = Outbound { reverse_path: String::new(), recipient: "alice@north.test".into(), ..out.clone() };
        s.dequeue(q[0].id, Some(&bounce))?;
        let q = s.queued(10)?;
        assert_eq!((q.len(), &q[0].message), (1, &bounce));
        Ok(())
    }

    /// Group commit: several SMTP transactions in one commit, each all or nothing by
    /// itself; one refused does not take the others with it, and what was kept is kept on
    /// disk (read back through a second connection to the same file).
    #[test]
    fn many_acceptances_in_one_commit_each_all_or_nothing() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("wirelab-accept-many-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut s = MailStore::open(&dir)?;
        let alice = s.create_account("alice@north.test", "wirelab")?;
        let job = |local: &[&str], data: &[u8]| Acceptance {
            local: local.iter().map(|a| a.to_string()).collect(),
            data: data.to_vec(),
            outbound: Vec::new(),
        };
        let results = s.accept_many(&[
            job(&["alice@north.test"], b"first"),
            job(&["alice@north.test", "nobody@north.test"], b"half"),
            job(&["alice@north.test"], b"third"),
        ])?;
        assert!(matches!(results[0], Ok(ref u) if u == &[1]));
        assert!(matches!(results[1], Err(StoreError::NotFound(_))), "the whole second one is refused");
        assert!(matches!(results[2], Ok(ref u) if u == &[2]));
        let again = MailStore::open(&dir)?;
        let kept: Vec<Vec<u8>> =
            [1, 2].iter().filter_map(|&uid| again.message(alice, "INBOX", uid).ok().flatten()).collect();
        assert_eq!(kept, [b"first".to_vec(), b"third".to_vec()]);
        assert_eq!(again.snapshot(alice, "INBOX")?.messages.len(), 2, "nothing of the refused one");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn listeners_hear_every_committed_change_in_order_with_its_origin() -> Result<()> {
        let mut s = MailStore::in_memory()?;
        let alice = s.create_account("alice@north.test", "wirelab")?;
        let mut rx = s.bus().subscribe(alice);
        s.deliver("alice@north.test", b"one")?;
        s.set_origin(7);
        s.set_flags(alice, "INBOX", 1, &["\\Seen".to_string()])?;
        assert!(!s.set_flags(alice, "INBOX", 9, &[])?, "no such message: nothing heard");
        s.remove(alice, "INBOX", &[1, 2])?;
        let heard: Vec<(u64, StoreChange)> =
            std::iter::from_fn(|| rx.try_recv().ok()).map(|n| (n.origin, n.change)).collect();
        assert_eq!(heard.len(), 3, "{heard:?}");
        assert!(matches!(&heard[0], (0, StoreChange::New(m)) if m.uid == 1 && m.size == 3));
        assert_eq!(heard[1], (7, StoreChange::Flags { uid: 1, flags: vec!["\\Seen".into()] }));
        assert_eq!(heard[2], (7, StoreChange::Expunged { uid: 1 }));
        Ok(())
    }

    #[test]
    fn session_accounts_have_quotas_are_counted_and_expire() -> Result<()> {
        let mut s = MailStore::in_memory()?;
        s.create_account("alice@north.test", "wirelab")?;
        let pair = ["ua@north.test".to_string(), "ua@south.test".to_string()];
        s.create_session(&pair, "pw", "192.0.2.1", 10)?;
        assert!(matches!(s.create_session(&pair, "pw", "192.0.2.1", 10), Err(StoreError::Exists(_))));
        s.create_session(&["ub@north.test".to_string()], "pw", "192.0.2.2", 10)?;
        assert_eq!(s.session_accounts("192.0.2.1")?, (3, 2));
        assert!(s.authenticate("ua@south.test", "pw")?.is_some());
        assert_eq!(s.deliver("ua@north.test", b"0123456789")?, Some(1));
        assert!(matches!(s.deliver("ua@north.test", b"x"), Err(StoreError::OverQuota(_))));
        assert_eq!(s.expire_sessions(3600)?, 0, "used just now");
        s.db.execute("UPDATE account SET last_used = 0 WHERE address = 'ub@north.test'", [])?;
        assert_eq!(s.expire_sessions(3600)?, 1);
        assert_eq!(s.account("ub@north.test")?, None);
        s.db.execute("UPDATE account SET last_used = 0", [])?;
        assert_eq!(s.expire_sessions(3600)?, 2, "the demo account stays");
        assert!(s.account("alice@north.test")?.is_some());
        Ok(())
    }

    #[test]
    fn what_was_committed_survives_reopening() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("wirelab-store-{}-{}", std::process::id(), now_secs()));
        {
            let mut s = MailStore::open(&dir)?;
            s.create_account("bob@south.test", "wirelab")?;
            s.deliver("bob@south.test", b"Subject: kept\r\n\r\n")?;
        }
        let s = MailStore::open(&dir)?;
        let bob = s.authenticate("bob@south.test", "wirelab")?.ok_or(StoreError::NotFound("bob".into()))?;
        assert_eq!(s.snapshot(bob, "INBOX")?.messages.len(), 1);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}

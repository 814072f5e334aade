//! `stats`: a stream of samples per container, gathered concurrently, shown as docker's
//! table — redrawn in place on a terminal, printed again each second otherwise, and once
//! with `--no-stream`. Without names it follows the running containers (all with `-a`) as
//! they start and stop, from the engine's events.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::filters::Filters;
use berth_api::{Client, Host};

use super::stats_entry::{headers, StatsEntry, DEFAULT};
use crate::app::StatsArgs;
use crate::error::{CliError, CliResult};
use crate::format::units::truncate_id;
use crate::format::{render_list, Format};

/// How long a stream may stay silent before its row shows `--`, as docker's.
const SILENCE: Duration = Duration::from_secs(2);
const REDRAW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Tracked {
    entry: StatsEntry,
    /// A first sample (or a failure) has arrived.
    ready: bool,
    error: Option<String>,
}

#[derive(Clone, Default)]
struct Board(Arc<Mutex<Vec<Tracked>>>);

impl Board {
    fn with<T>(&self, f: impl FnOnce(&mut Vec<Tracked>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Adds a row for `container`; false if it has one already.
    fn add(&self, container: &str) -> bool {
        self.with(|rows| {
            if rows.iter().any(|t| t.entry.container == container) {
                return false;
            }
            rows.push(Tracked {
                entry: StatsEntry::new(container),
                ..Default::default()
            });
            true
        })
    }

    fn remove(&self, container: &str) {
        self.with(|rows| rows.retain(|t| t.entry.container != container));
    }

    fn set(&self, container: &str, f: impl FnOnce(&mut Tracked)) {
        self.with(|rows| {
            if let Some(t) = rows.iter_mut().find(|t| t.entry.container == container) {
                f(t);
                t.ready = true;
            }
        });
    }

    fn all_ready(&self) -> bool {
        self.with(|rows| rows.iter().all(|t| t.ready))
    }
}

/// Follows the samples of `container` on a connection of its own.
fn collect(host: Host, board: Board, container: String, stream: bool) {
    tokio::spawn(async move {
        let client = Client::new(host);
        let mut samples = match client.container_stats(&container, stream, false).await {
            Ok(s) => s,
            Err(e) => {
                let message = CliError::from(e).message;
                board.set(&container, |t| {
                    t.entry.invalidate();
                    t.error = Some(message);
                });
                return;
            }
        };
        loop {
            match tokio::time::timeout(SILENCE, samples.next()).await {
                Ok(Some(Ok(v))) => board.set(&container, |t| {
                    t.entry.update(&v);
                    t.error = None;
                }),
                Ok(Some(Err(e))) => {
                    let message = CliError::from(e).message;
                    board.set(&container, |t| {
                        t.entry.invalidate();
                        t.error = Some(message);
                    });
                    return;
                }
                Ok(None) => {
                    board.set(&container, |t| t.entry.invalidate());
                    return;
                }
                Err(_) => board.set(&container, |t| {
                    t.entry.invalidate();
                    t.error = Some("timeout waiting for stats".into());
                }),
            }
            if !stream {
                return;
            }
        }
    });
}

/// Adds and drops rows as containers start, stop and go (listing them all: `all`).
fn follow_events(
    host: Host,
    board: Board,
    all: bool,
    events: (Client, berth_api::client::EventStream),
) {
    tokio::spawn(async move {
        // The client is kept for as long as its connection carries the stream.
        let (_client, mut events) = events;
        while let Some(Ok(e)) = events.next().await {
            let id = truncate_id(&e.actor.id).to_string();
            let starts = e.action == "start" || (all && e.action == "create");
            if starts {
                if board.add(&id) {
                    collect(host.clone(), board.clone(), id, true);
                }
                continue;
            }
            match e.action.as_str() {
                "die" if !all => board.remove(&id),
                "destroy" => board.remove(&id),
                _ => {}
            }
        }
    });
}

pub async fn stats(client: Client, args: StatsArgs) -> CliResult {
    let format = Format::parse(args.format.as_deref());
    crate::format::Template::parse(match &format {
        Format::Table(Some(t)) | Format::Raw(t) => t,
        _ => "",
    })?;
    let host = client.host().clone();
    let stream = !args.no_stream;
    let board = Board::default();
    let show_all = args.containers.is_empty();
    if show_all {
        // Subscribed before listing, so that no container starting in between is missed.
        let events = if stream {
            let mut f = Filters::new();
            f.add("type", "container");
            let events_client = Client::new(host.clone());
            let stream = events_client.events("", "", &f).await?;
            Some((events_client, stream))
        } else {
            None
        };
        for c in client
            .containers(args.all, None, false, &Filters::new())
            .await?
        {
            let id = truncate_id(&c.id).to_string();
            if board.add(&id) {
                collect(host.clone(), board.clone(), id, stream);
            }
        }
        if let Some(events) = events {
            follow_events(host.clone(), board.clone(), args.all, events);
        }
    } else {
        for name in &args.containers {
            if board.add(name) {
                collect(host.clone(), board.clone(), name.clone(), stream);
            }
        }
    }
    while !board.all_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !show_all {
        let errors: Vec<String> =
            board.with(|rows| rows.iter().filter_map(|t| t.error.clone()).collect());
        if !errors.is_empty() {
            return Err(CliError::general(errors.join("\n")));
        }
    }
    let redraw = stream && std::io::stdout().is_terminal();
    loop {
        let rows: Vec<serde_json::Value> =
            board.with(|rows| rows.iter().map(|t| t.entry.row(!args.no_trunc)).collect());
        let mut out = render_list(&format, DEFAULT, &headers(), &rows, None)?;
        if redraw {
            out.insert_str(0, "\x1b[2J\x1b[H");
        }
        super::super::print(&out)?;
        if !stream || (rows.is_empty() && !show_all) {
            return Ok(());
        }
        tokio::time::sleep(REDRAW).await;
    }
}

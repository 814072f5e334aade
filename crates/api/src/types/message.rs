//! The JSON progress messages of streaming endpoints (load, import, pull, push, build),
//! one object per line, as docker's `jsonmessage` package defines them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(
        rename = "progressDetail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub progress_detail: Option<ProgressDetail>,
    /// A pre-rendered progress bar, for clients that do not draw their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(
        rename = "errorDetail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub error_detail: Option<ErrorDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgressDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub message: String,
}

impl JsonMessage {
    pub fn stream(text: impl Into<String>) -> Self {
        JsonMessage {
            stream: Some(text.into()),
            ..Default::default()
        }
    }

    pub fn status(text: impl Into<String>) -> Self {
        JsonMessage {
            status: Some(text.into()),
            ..Default::default()
        }
    }

    /// A status line about item `id` (a layer): `Pull complete`, `Pushed`.
    pub fn item(id: &str, status: impl Into<String>) -> Self {
        JsonMessage {
            id: Some(id.to_string()),
            status: Some(status.into()),
            ..Default::default()
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        let text = text.into();
        JsonMessage {
            error: Some(text.clone()),
            error_detail: Some(ErrorDetail {
                code: None,
                message: text,
            }),
            ..Default::default()
        }
    }

    /// A progress update for item `id`, with docker's text bar for clients without their own.
    pub fn progress(id: &str, status: &str, current: i64, total: i64) -> Self {
        JsonMessage {
            status: Some(status.to_string()),
            id: Some(id.to_string()),
            progress_detail: Some(ProgressDetail {
                current: Some(current),
                total: Some(total),
            }),
            progress: Some(progress_bar(current, total)),
            ..Default::default()
        }
    }
}

/// docker's 50-column `[====>    ]` bar followed by `current/total` in decimal units.
fn progress_bar(current: i64, total: i64) -> String {
    const WIDTH: i64 = 50;
    if total <= 0 {
        return String::new();
    }
    let filled = (current.clamp(0, total) * WIDTH / total) as usize;
    let mut bar = "=".repeat(filled);
    if filled < WIDTH as usize {
        bar.push('>');
    }
    format!(
        "[{bar:<width$}] {}/{}",
        crate::units::human_size(current as f64),
        crate::units::human_size(total as f64),
        width = WIDTH as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_carry_error_detail() {
        let json = serde_json::to_string(&JsonMessage::error("boom")).unwrap();
        assert_eq!(json, r#"{"error":"boom","errorDetail":{"message":"boom"}}"#);
    }

    #[test]
    fn progress_bar_looks_like_dockers() {
        let m = JsonMessage::progress("abc", "Loading layer", 512, 1024);
        let bar = m.progress.unwrap();
        assert!(bar.starts_with("[=========================>"), "{bar}");
        assert!(bar.ends_with("512B/1.02kB"), "{bar}");
    }
}

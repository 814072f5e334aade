//! Errors as the docker CLI reports them: a message on stderr and an exit status.

use berth_api::ClientError;

#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub status: u8,
}

impl CliError {
    /// A failed command: exit status 1.
    pub fn general(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            status: 1,
        }
    }

    /// Bad flags or arguments: docker's 125.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            status: 125,
        }
    }

    /// An error already reported; exit with `status` and print nothing more.
    pub fn silent(status: u8) -> Self {
        CliError {
            message: String::new(),
            status,
        }
    }

    /// Exits as a container's (or an exec's) process did: its code, 255 for anything
    /// outside 0..=255.
    pub fn exit_code(code: i64) -> CliResult {
        match code {
            0 => Ok(()),
            1..=255 => Err(CliError::silent(code as u8)),
            _ => Err(CliError::silent(255)),
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Api { message, .. } => {
                CliError::general(format!("Error response from daemon: {message}"))
            }
            _ => CliError::general(e.to_string()),
        }
    }
}

impl From<crate::format::FormatError> for CliError {
    fn from(e: crate::format::FormatError) -> Self {
        CliError::general(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::general(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

//! The typed form of each Dockerfile instruction.
//!
//! Words are kept as written (quotes and `$` references included) wherever the builder
//! expands them later, because their values depend on the ARGs and ENVs in effect at that
//! step; [`crate::expand`] turns them into final values.

use crate::instruction::{Command, Healthcheck};

pub use super::mount::{Mount, MountType, Sharing};

/// One Dockerfile instruction with its flags and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM [--platform=…] image [AS name]`.
    From(From),
    /// `ARG name[=default] …`.
    Arg(Vec<ArgDecl>),
    /// `RUN [--mount=…] [--network=…] [--security=…] command`.
    Run(Run),
    /// `CMD`: the default command. A bare `CMD` is an empty exec form.
    Cmd(Command),
    /// `ENTRYPOINT`; a bare `ENTRYPOINT` is an empty exec form, which clears it.
    Entrypoint(Command),
    /// `ENV k=v …` or the legacy `ENV k v`.
    Env(Vec<KeyValue>),
    /// `LABEL k=v …` (legacy `LABEL k v` too).
    Label(Vec<KeyValue>),
    /// `EXPOSE 80 53/udp 8000-8010`, words as written.
    Expose(Vec<String>),
    /// `COPY`.
    Copy(Copy),
    /// `ADD`.
    Add(Add),
    /// `WORKDIR path`.
    Workdir(String),
    /// `USER user[:group]`.
    User(String),
    /// `VOLUME` in JSON or word form.
    Volume(Vec<String>),
    /// `STOPSIGNAL signal`.
    StopSignal(String),
    /// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD …`.
    Healthcheck(Healthcheck),
    /// `SHELL ["exe", "arg"]`, JSON only.
    Shell(Vec<String>),
    /// `ONBUILD <instruction>`.
    OnBuild(OnBuild),
    /// `MAINTAINER name` (deprecated; a label in effect).
    Maintainer(String),
}

impl Instruction {
    /// The instruction's keyword in upper case (`RUN`, `COPY`, …).
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Arg(_) => "ARG",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Env(_) => "ENV",
            Instruction::Label(_) => "LABEL",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Shell(_) => "SHELL",
            Instruction::OnBuild(_) => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// `FROM`: the base and the stage's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The image or earlier stage, as written (may hold `$` references to global ARGs).
    pub image: String,
    /// The stage's name from `AS name`, lower-cased as docker does.
    pub name: Option<String>,
    /// `--platform`, as written.
    pub platform: Option<String>,
}

/// One name in an `ARG` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The argument's name.
    pub name: String,
    /// The default after `=`, as written; `None` when there is no `=`.
    pub default: Option<String>,
}

/// One `key=value` of ENV or LABEL, both as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, before quote removal.
    pub key: String,
    /// The value, before quote removal and expansion.
    pub value: String,
}

/// RUN's `--network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The builder's default network.
    Default,
    /// No network at all.
    None,
    /// The host's network (needs the `network.host` entitlement).
    Host,
}

/// RUN's `--security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// The usual sandbox.
    Sandbox,
    /// Privileged (needs the `security.insecure` entitlement).
    Insecure,
}

/// A here-document attached to RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter word, quotes removed (`EOF`); COPY/ADD also use it as the file name.
    pub name: String,
    /// The body, each line ending in `\n`; leading tabs already removed for `<<-`.
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no expansion in the body.
    pub expand: bool,
    /// True for `<<-`.
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command; in shell form it includes the `<<EOF` words of its heredocs.
    pub command: Command,
    /// The heredocs the command line names, in order.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` options, in order.
    pub mounts: Vec<Mount>,
    /// `--network`, when given.
    pub network: Option<Network>,
    /// `--security`, when given.
    pub security: Option<Security>,
}

impl Run {
    /// The heredoc that is the whole command (`RUN <<EOF`), whose body is then the script.
    pub fn heredoc_script(&self) -> Option<&Heredoc> {
        match (&self.command, self.heredocs.as_slice()) {
            (Command::Shell(line), [only]) if is_heredoc_word(line.trim(), only) => Some(only),
            _ => None,
        }
    }

    /// The text to give the shell for a shell-form RUN: the command line followed by each
    /// heredoc's body and delimiter, so the shell itself feeds them to the command
    /// (`RUN python3 <<EOF`). `None` for the exec form.
    pub fn shell_script(&self) -> Option<String> {
        let Command::Shell(line) = &self.command else {
            return None;
        };
        let mut s = line.clone();
        for h in &self.heredocs {
            s.push('\n');
            s.push_str(&h.content);
            s.push_str(&h.name);
        }
        Some(s)
    }
}

fn is_heredoc_word(word: &str, h: &Heredoc) -> bool {
    let w = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = w.strip_prefix("<<") else {
        return false;
    };
    let rest = if h.chomp {
        rest.strip_prefix('-').unwrap_or(rest)
    } else {
        rest
    };
    rest.trim_matches(|c| c == '"' || c == '\'') == h.name
}

/// A COPY/ADD source: a path (or URL, for ADD) or an inline heredoc file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path in the context (or `--from` stage), or an ADD URL; as written.
    Path(String),
    /// `<<EOF`: a file named after the delimiter holding the body.
    Heredoc(Heredoc),
}

/// `COPY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// What to copy.
    pub sources: Vec<Source>,
    /// Where to, as written.
    pub dest: String,
    /// `--from`: a stage name, a stage index, or an image.
    pub from: Option<String>,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--parents`.
    pub parents: bool,
    /// `--exclude` patterns, in order.
    pub excludes: Vec<String>,
}

/// `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// What to add: paths, URLs, git repositories, heredocs.
    pub sources: Vec<Source>,
    /// Where to, as written.
    pub dest: String,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--keep-git-dir`.
    pub keep_git_dir: bool,
    /// `--checksum` of a remote source (`sha256:…`).
    pub checksum: Option<String>,
    /// `--exclude` patterns, in order.
    pub excludes: Vec<String>,
}

/// `ONBUILD`: a trigger stored in the image and run by builds that use it as a base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnBuild {
    /// The trigger's text as the image records it (`RUN echo hi`), heredoc bodies appended.
    pub expression: String,
    /// The trigger, parsed (so a broken trigger fails this build, not a later one).
    pub trigger: Box<Instruction>,
}

//! What a terminal tells the activation service about itself: host name, OS, agent version
//! and reader names. Nothing here identifies a patient or a person.

/// A terminal's self-description, sent with Activate and Renew.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The host name.
    pub hostname: String,
    /// For example `linux x86_64`.
    pub os: String,
    /// This agent's version.
    pub agent_version: String,
    /// PC/SC reader names, when known.
    pub readers: Vec<String>,
}

impl DeviceFacts {
    /// Returns this machine's facts (no reader names: listing them needs pcscd).
    pub fn local() -> Self {
        Self {
            hostname: hostname(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            readers: Vec::new(),
        }
    }
}

fn hostname() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty());
    from_kernel
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}

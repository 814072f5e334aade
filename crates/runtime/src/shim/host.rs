//! What a shim learns about the host before its container: the cgroup layout, the cgroup v1
//! hierarchies to mount in the container, the kernel version, and Docker's default seccomp
//! filter compiled for Docker's default capabilities (what most containers run with). A
//! spare shim works them out while it waits, off the start's path.

use oci_spec::runtime::Spec;

use super::Seccomp;
use crate::cgroups::Layout;
use crate::linux::caps::DOCKER_DEFAULT;
use crate::linux::StartError;

pub struct HostFacts {
    pub layout: Layout,
    pub cgroup_v1: Vec<(String, String)>,
    kernel: (u32, u32),
    /// Docker's profile compiled for Docker's capabilities.
    default_filter: Option<seccompiler::BpfProgram>,
}

impl HostFacts {
    pub fn gather() -> Result<HostFacts, StartError> {
        let layout =
            Layout::detect().map_err(|e| StartError::engine(format!("finding cgroups: {e}")))?;
        let kernel =
            crate::seccomp::host_kernel_version().map_err(|e| StartError::engine(e.to_string()))?;
        let default_caps: Vec<String> = DOCKER_DEFAULT.iter().map(|c| c.to_string()).collect();
        let default_filter = crate::seccomp::Profile::docker_default()
            .compile(&default_caps, kernel)
            .ok();
        Ok(HostFacts {
            layout,
            cgroup_v1: crate::linux::mounts::host_cgroup_v1(),
            kernel,
            default_filter,
        })
    }

    /// The seccomp filter of a process with `spec`'s capabilities under `setting`.
    pub fn seccomp(
        &self,
        setting: &Seccomp,
        spec: &Spec,
    ) -> Result<Option<seccompiler::BpfProgram>, StartError> {
        // The filter's capability-dependent rules follow the capabilities the process keeps.
        let mut caps: Vec<String> = spec
            .process()
            .as_ref()
            .and_then(|p| p.capabilities().as_ref())
            .and_then(|c| c.bounding().as_ref())
            .map(|b| b.iter().map(|c| format!("CAP_{c}")).collect())
            .unwrap_or_default();
        let profile = match setting {
            Seccomp::Unconfined => return Ok(None),
            Seccomp::Default => {
                let mut wanted: Vec<&str> = caps.iter().map(String::as_str).collect();
                let mut default = DOCKER_DEFAULT.to_vec();
                wanted.sort_unstable();
                default.sort_unstable();
                if wanted == default {
                    if let Some(f) = &self.default_filter {
                        return Ok(Some(f.clone()));
                    }
                }
                crate::seccomp::Profile::docker_default()
            }
            Seccomp::Custom(json) => crate::seccomp::Profile::from_json(json.as_bytes())
                .map_err(|e| StartError::engine(format!("invalid seccomp profile: {e}")))?,
        };
        caps.sort();
        profile
            .compile(&caps, self.kernel)
            .map(Some)
            .map_err(|e| StartError::engine(format!("compiling the seccomp profile: {e}")))
    }
}

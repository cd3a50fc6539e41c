"""What a JSON ``null`` was in the Go types behind the Engine API, by field name.

docker's CLI runs ``--format`` templates over typed Go values, where a null
list prints ``[]``, a null map ``map[]`` and a null struct pointer ``<nil>``.
We only have JSON, so this table (derived from the definitions in
``docker-engine-api-v1.47.yaml``: names whose type is the same everywhere,
plus what ``inspect`` means by the few ambiguous ones such as ``Labels``)
lets the template engine print those nulls as docker does.
"""

from __future__ import annotations

LISTS = frozenset({
    "AccessibleTopology", "Addresses", "Aliases", "AllowNondistributableArtifactsCIDRs",
    "AllowNondistributableArtifactsHostnames", "AssignedGenericResources", "Authorization", "Binds",
    "BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps", "BlkioDeviceWriteIOps",
    "BlkioWeightDevice", "CDISpecDirs", "CapAdd", "CapDrop", "Capabilities", "CapabilityAdd",
    "CapabilityDrop", "Cmd", "Components", "Configs", "ConsoleSize", "Constraints", "DNSNames",
    "DefaultAddrPool", "DefaultAddressPools", "DeviceCgroupRules", "DeviceIDs", "DeviceRequests",
    "Devices", "Dns", "DnsOptions", "DnsSearch", "DriverStatus", "Entrypoint", "Env", "ExternalCAs",
    "ExtraHosts", "GenericResources", "GroupAdd", "Groups", "Hosts", "InsecureRegistryCIDRs", "Layers",
    "LinkLocalIPs", "Links", "Log", "Manifests", "MaskedPaths", "Mirrors", "Mounts", "Names",
    "Nameservers", "NetworksAttachments", "OnBuild", "Parents", "Peers", "Platforms", "PluginPrivilege",
    "Preferences", "Preferred", "PublishStatus", "ReadonlyPaths", "RemoteManagers", "RepoDigests",
    "RepoTags", "Requisite", "Search", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "Secrets",
    "SecurityOpt", "SecurityOptions", "Settable", "Shell", "Tags", "Test", "Types", "Ulimits",
    "VirtualIPs", "Volume", "VolumesFrom", "Warnings", "arguments", "diff_ids", "runtimeArgs"
})
MAPS = frozenset({
    "Annotations", "Attributes", "AuxiliaryAddresses", "Data", "DriverOpts", "EndpointsConfig",
    "ExposedPorts", "IndexConfigs", "Labels", "Networks", "Options", "PortBindings", "Ports",
    "PublishContext", "Runtimes", "Segments", "StorageOpt", "Sysctls", "Tmpfs", "VolumeContext",
    "Volumes"
})
STRUCTS = frozenset({
    "AccessMode", "AccessibilityRequirements", "Actor", "AppArmor", "AttestationData", "BindOptions",
    "CAConfig", "CapacityRange", "Cluster", "ClusterVolume", "ClusterVolumeSpec", "ConfigFrom",
    "ContainerSpec", "ContainerStatus", "Containerd", "ContainerdCommit", "CredentialSpec", "DNSConfig",
    "Descriptor", "Details", "DiscreteResourceSpec", "Dispatcher", "DriverConfig", "EncryptionConfig",
    "Endpoint", "EndpointSpec", "Engine", "Global", "GlobalJob", "GraphDriver", "Health", "HealthCheck",
    "Healthcheck", "HostConfig", "IPAM", "IPAMConfig", "ImageData", "Info", "InitCommit", "Interface",
    "JobIteration", "JobStatus", "JoinTokens", "Limits", "Linux", "LogConfig", "LogDriver",
    "ManagerStatus", "Metadata", "MountVolume", "NamedResourceSpec", "Namespaces",
    "NetworkAttachmentSpec", "NetworkSettings", "Orchestration", "Placement", "Platform", "PluginSpec",
    "PortStatus", "Privileges", "Raft", "RegistryConfig", "Replicated", "ReplicatedJob", "Reservations",
    "Resources", "RestartPolicy", "RollbackConfig", "RootFS", "RuncCommit", "SELinuxContext", "Seccomp",
    "ServiceStatus", "Settings", "Spec", "Spread", "Swarm", "TLSInfo", "TaskDefaults", "TaskTemplate",
    "Templating", "TmpfsOptions", "UpdateConfig", "UpdateStatus", "UsageData", "VolumeOptions", "aux",
    "errorDetail", "progressDetail", "rootfs"
})

NULL_KINDS: dict[str, str] = {
    **dict.fromkeys(LISTS, "list"),
    **dict.fromkeys(MAPS, "map"),
    **dict.fromkeys(STRUCTS, "struct"),
}

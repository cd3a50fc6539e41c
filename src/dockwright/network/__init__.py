"""Container networking: IPAM, the bridge driver, network namespaces, and a container's hosts files.

Synchronous by design (netlink, SQLite, ``setns`` in short-lived threads); the
daemon calls it with ``asyncio.to_thread``. Modules, one job each:

    ipam        pools and leases in a SQLite file (WAL)
    bridge      the Linux bridge and one veth pair per container
    netns       pinned network namespaces, running code inside one
    hostsfiles  /etc/hosts, /etc/hostname, /etc/resolv.conf in Docker's formats
    subnets     bip parsing, default pools, overlap with the host's routes
    firewall    the one filter rule containers on a bridge need where the host filters bridged traffic
    mode        HostConfig.NetworkMode

How the daemon uses it::

    start-up      ipam = IPAM(<data-root>/network/ipam.db)
                  bridge = BridgeDriver(name, resolve_bip(name, config.bip), ipam); bridge.ensure()
                  restore: bridge.endpoints(), ipam.leases(bridge.network_id),
                           netns.list_pinned(<exec-root>/netns) -> disconnect/delete what no container owns
    bridge        ns = netns.create(<exec-root>/netns/<id>)   -> OCI linux.namespaces network path
                  ep = bridge.connect(id, ns); hostsfiles.write_hosts(dir, hostname, str(ep.ip)), ...
    none          ns = netns.create(...); netns.loopback_only(ns)
    host          no namespace; hostsfiles.write_host_network_hosts, write_resolv_conf(host_network=True)
    container:X   X's namespace path (and X's files)
    stop/remove   bridge.disconnect(id); netns.delete(ns)
"""

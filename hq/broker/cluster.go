package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MetaLeaderTimeout bounds how long StartCluster waits for the JetStream
// meta leader.
const MetaLeaderTimeout = 30 * time.Second

// StartCluster starts n (at least 3 for a quorum that survives a node)
// embedded servers in one process, clustered over routes on opts.Host
// (loopback by default), each with its own data directory baseDir/node-N,
// server name "{ServerName}-N" and random client, MQTT, cluster and
// monitoring ports. It returns once the JetStream meta group has a leader
// and every node is current. It is meant for tests and demonstrations; a
// production cluster runs nats-server with deploy/nats/hq-cluster-node*.conf.
// opts.DataDir, the ports and Routes are ignored; ClusterName defaults to
// "seathq". On error every started server is shut down.
func StartCluster(n int, baseDir string, opts Options) ([]*Broker, error) {
	if n < 2 {
		return nil, fmt.Errorf("start cluster: %d nodes: want at least 2 (3 to survive the loss of one)", n)
	}
	if opts.ClusterName == "" {
		opts.ClusterName = "seathq"
	}
	if opts.ServerName == "" {
		opts.ServerName = DefaultServerName
	}
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	var lastErr error
	// Cluster ports are reserved and released before the servers bind
	// them; another process may take one in between, so retry.
	for attempt := 0; attempt < 3; attempt++ {
		bs, err := startClusterOnce(n, baseDir, opts)
		if err == nil {
			return bs, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, fmt.Errorf("start cluster: %w", lastErr)
}

var errPortTaken = errors.New("cluster port taken")

func startClusterOnce(n int, baseDir string, opts Options) ([]*Broker, error) {
	ports, err := freePorts(opts.Host, n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = "nats-route://" + net.JoinHostPort(opts.Host, strconv.Itoa(p))
	}
	var bs []*Broker
	shutdown := func() {
		for _, b := range bs {
			b.Shutdown()
		}
		for _, b := range bs {
			b.WaitForShutdown()
		}
	}
	for i := 0; i < n; i++ {
		o := opts
		o.ServerName = fmt.Sprintf("%s-%d", opts.ServerName, i+1)
		o.DataDir = filepath.Join(baseDir, fmt.Sprintf("node-%d", i+1))
		o.ClientPort, o.MQTTPort, o.HTTPMonitorPort = 0, 0, 0
		if opts.HTTPMonitorPort < 0 {
			o.HTTPMonitorPort = -1
		}
		o.ClusterPort = ports[i]
		o.Routes = routes
		b, err := Start(o)
		if err != nil {
			shutdown()
			if strings.Contains(err.Error(), "address already in use") {
				return nil, fmt.Errorf("%w: %v", errPortTaken, err)
			}
			return nil, err
		}
		bs = append(bs, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), MetaLeaderTimeout)
	defer cancel()
	if err := WaitMetaLeader(ctx, bs); err != nil {
		shutdown()
		return nil, err
	}
	return bs, nil
}

// WaitMetaLeader waits until one of the running brokers is the JetStream
// meta leader and every running broker is current with the meta group.
// Brokers that were shut down are skipped.
func WaitMetaLeader(ctx context.Context, bs []*Broker) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		leaders, current, running := 0, 0, 0
		for _, b := range bs {
			if !b.srv.Running() {
				continue
			}
			running++
			if b.srv.JetStreamIsLeader() {
				leaders++
			}
			if b.srv.JetStreamIsCurrent() {
				current++
			}
		}
		if running > 0 && leaders == 1 && current == running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("JetStream meta leader: %d leaders, %d of %d running nodes current: %w", leaders, current, running, ctx.Err())
		case <-tick.C:
		}
	}
}

// freePorts reserves n ports on host and releases them.
func freePorts(host string, n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("reserve cluster port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

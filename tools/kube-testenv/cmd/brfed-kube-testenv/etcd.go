package main

// The embedded etcd: one member on loopback, data in one folder. Tuned for tests (no fsync,
// small quota, quiet logs); a clean stop closes the bbolt file so a restart keeps every key.

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// freePort asks the kernel for a port that is free on host right now.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopbackURL(port int) url.URL {
	return url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}

// startEtcd starts a single-member etcd in dir and waits until it serves.
func startEtcd(name, dir string) (*embed.Etcd, string, error) {
	clientPort, err := freePort("127.0.0.1")
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort("127.0.0.1")
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = dir
	client, peer := loopbackURL(clientPort), loopbackURL(peerPort)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// Test data: losing the last writes on a machine crash is fine; a clean stop still syncs.
	cfg.UnsafeNoFsync = true
	cfg.QuotaBackendBytes = 1 << 30
	cfg.SnapshotCount = 10000
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, client.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("etcd: not ready after 60s")
	}
}

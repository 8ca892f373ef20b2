package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestExampleConfigIsValid(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", "--config", "../../deploy/seathq.example.yaml"}, &out, &out); err != nil {
		t.Fatalf("deploy/seathq.example.yaml: %v", err)
	}
	c, err := loadConfig("../../deploy/seathq.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded.MQTTListen != "0.0.0.0:8883" || c.Replicas != 1 || c.API.Listen != "127.0.0.1:8480" {
		t.Errorf("example config: %+v", c)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"replica: 3\n", "line 1: field replica not found"},
		{"replicas: 2\n", "replicas: 2: want 1, 3 or 5"},
		{"replicas: three\n", "line 1"},
		{"api:\n  listen: nowhere\n", "api.listen"},
		{"api:\n  tls_cert: a.pem\n", "tls_cert and tls_key go together"},
		{"nats:\n  urls: [http://x:1]\n  password_file: p\n", "nats.urls[0]"},
		{"nats:\n  urls: [nats://x:4222]\n", "nats.password_file: required"},
		{"nats:\n  urls: [nats://x:4222]\n  password_file: p\nembedded:\n  mqtt_listen: 0.0.0.0:8883\n", "embedded: not used"},
		{"embedded:\n  routes: [nats-route://a:1, nats-route://b:1, nats-route://c:1]\n", "cluster_listen and cluster_name"},
		{"embedded:\n  cluster_listen: 0.0.0.0:6222\n  cluster_name: x\n  routes: [nats-route://a:1]\n", "at least 3"},
		{"embedded:\n  server_name: HQ_1\n", "embedded.server_name"},
		{"log:\n  level: loud\n", "log.level"},
		{"data_dir: /a\ndata_dir: /b\n", "already defined"},
		{"a: 1\n---\nb: 2\n", "line 1: field a not found"},
	} {
		_, err := parseConfig(strings.NewReader(tt.yaml), "seathq.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "seathq.yaml") {
			t.Errorf("%q: got %v, want an error naming the file and containing %q", tt.yaml, err, tt.want)
		}
	}
}

func TestConfigDefaultsAndCluster(t *testing.T) {
	c, err := parseConfig(strings.NewReader(""), "empty")
	if err != nil || c.DataDir != "/var/lib/seathq" || c.NATS.User != "seathq" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	if o, _ := c.options(); !o.Embedded.SyncAlways {
		t.Errorf("a single node must fsync every write by default")
	}
	c, err = parseConfig(strings.NewReader(`replicas: 3
embedded:
  server_name: hq-2
  cluster_listen: 0.0.0.0:6222
  cluster_name: seathq
  routes: [nats-route://hq1:6222, nats-route://hq2:6222, nats-route://hq3:6222]
`), "cluster")
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.options()
	if err != nil || len(o.Embedded.Routes) != 3 || o.Replicas != 3 || o.Embedded.ServerName != "hq-2" || o.Embedded.SyncAlways {
		t.Fatalf("options: %+v %v", o, err)
	}
}

// FuzzParseConfig: any input gives a config or an error naming the file,
// never a panic; a config that parses is valid.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("replicas: 3\nembedded:\n  cluster_listen: 0.0.0.0:6222\n  cluster_name: x\n  routes: [nats-route://a:1, nats-route://b:1, nats-route://c:1]\n"))
	f.Add([]byte("api: {listen: '127.0.0.1:1'}\nnats: {urls: ['nats://a:1'], password_file: p}\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(bytes.NewReader(data), "f.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if errs := c.validate(); len(errs) > 0 {
			t.Fatalf("parsed but invalid: %v", errs)
		}
	})
}

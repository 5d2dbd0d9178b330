//! The connection to Redis: one server (`redis://`, `rediss://`) or a cluster (`REDIS_CLUSTER`: ElastiCache
//! Serverless and cluster-mode caches present slots; the cluster client follows `MOVED`/`ASK` and keeps one
//! connection per node). Both answer every command the limiter sends; scripts route by their first key, which
//! carries the key owner's hash tag.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Where to connect, built once per process (so the size of its variants does not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Client {
    Single(redis::Client),
    Cluster(redis::cluster::ClusterClient),
}

/// A live connection (cheap to clone: both kinds multiplex one socket per node).
#[derive(Clone)]
pub(super) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Client {
    /// A client for `url`. TLS to ElastiCache trusts the AWS roots only; TLS elsewhere the roots compiled into the
    /// client (Mozilla's). Neither reads the system's bundle.
    pub(super) fn open(url: &str, cluster: bool, timeout: Duration) -> RedisResult<Self> {
        let aws_roots = (url.starts_with("rediss://") && super::super::trust::is_aws_host(url)).then(|| {
            redis::TlsCertificates { client_tls: None, root_cert: Some(super::super::trust::aws_roots_pem()) }
        });
        if cluster {
            let mut builder = ClusterClientBuilder::new(vec![url])
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .overall_response_timeout(Some(timeout * 2))
                // A slot in migration answers ASK, then TRYAGAIN until its keys have moved, then MOVED: retry within
                // milliseconds, enough times to ride out a slot's move (the default waits 1.28 s a retry, longer
                // than the limiter's whole budget); the overall timeout still bounds the request.
                .retries(10)
                .min_retry_wait(2)
                .max_retry_wait(50);
            if let Some(roots) = aws_roots {
                builder = builder.certs(roots);
            }
            return builder.build().map(Self::Cluster);
        }
        match aws_roots {
            Some(roots) => redis::Client::build_with_tls(url, roots).map(Self::Single),
            None => redis::Client::open(url).map(Self::Single),
        }
    }

    pub(super) async fn connect(&self, timeout: Duration) -> RedisResult<Conn> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(client.clone(), config).await.map(Conn::Single)
            }
            Self::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }
}

impl Conn {
    /// `INFO <sections>` of one server (on a cluster, any one node: the figures are that node's).
    pub(super) async fn info(&mut self, sections: &[&str]) -> RedisResult<String> {
        let mut cmd = redis::cmd("INFO");
        for s in sections {
            cmd.arg(*s);
        }
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => {
                let value = c.route_command(cmd, RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random)).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

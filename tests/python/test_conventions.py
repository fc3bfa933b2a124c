"""A third-party gRPC client proves MynaFleet's conventions against `mynafleet dev`.

Python's grpcio (not tonic) connects to each of the four services over TLS, trusting only
the dev CA bundle and presenting no client certificate, and checks what any standard gRPC
tool relies on: health (overall and per API), reflection v1alpha and v1, and that an
internal RPC refuses a caller without a certificate. It ends by stopping the suite with
SIGINT, as Ctrl-C would, and expects a clean exit.

Run by `make test` after `cargo build --workspace --bins`; it never builds anything and
fails (never skips) when the binary or a dependency is missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("MYNAFLEET_BIN") or REPO_ROOT / "target" / "debug" / "mynafleet")

STARTUP_DEADLINE_S = 60.0
SHUTDOWN_DEADLINE_S = 20.0
RPC_TIMEOUT_S = 10.0

COMMON_SERVICES = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
}

# endpoints.json key -> the service's own API, which health reports by name.
API_SERVICE = {
    "account": "mynafleet.account.v1.OrganizationService",
    "activation": "mynafleet.activation.v1.DeviceService",
    "eligibility_proxy": "mynafleet.agent.v1.AgentService",
    "oqs_sim": "mynafleet.oqs.v1.OqsService",
}

ENDPOINT_KEYS = sorted(API_SERVICE)

# An internal RPC: only service identities (client certificates) may call it.
INTERNAL_RPC = "/mynafleet.account.v1.OrganizationService/ListOrganizations"


@dataclass
class DevSuite:
    """A running `mynafleet dev` process and what it published in endpoints.json."""

    process: subprocess.Popen
    data_dir: Path
    log_path: Path
    endpoints: dict
    ca_bundle: Path
    ca_pem: bytes

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def channel(self, key: str) -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(root_certificates=self.ca_pem)
        # Proxy variables in the environment must not reroute loopback traffic.
        options = [("grpc.enable_http_proxy", 0)]
        return grpc.secure_channel(self.endpoints[key], credentials, options=options)


def _read_endpoints(path: Path) -> dict | None:
    """Returns the parsed endpoints file, or None while it is absent or half written."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _fail_with_log(message: str, log_path: Path) -> None:
    log = log_path.read_text(errors="replace") if log_path.exists() else "(no output)"
    pytest.fail(f"{message}\n--- mynafleet dev output ---\n{log}", pytrace=False)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory):
    if not BINARY.is_file():
        pytest.fail(
            f"{BINARY} does not exist: build it first with `cargo build --workspace --bins` "
            "(make test does), or point MYNAFLEET_BIN at it",
            pytrace=False,
        )
    work = tmp_path_factory.mktemp("mynafleet-dev")
    data_dir = work / "data"
    data_dir.mkdir()
    log_path = work / "mynafleet-dev.log"
    endpoints_path = data_dir / "endpoints.json"
    command = [
        str(BINARY), "dev",
        "--data-dir", str(data_dir),
        "--account-port", "0",
        "--activation-port", "0",
        "--proxy-port", "0",
        "--oqs-sim-port", "0",
        "--metrics-port", "0",
    ]
    with open(log_path, "wb") as log:
        # cwd is the temp dir, so a default ./.mynafleet-dev could never land in the repo.
        process = subprocess.Popen(
            command, cwd=work, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        endpoints = None
        while endpoints is None:
            if process.poll() is not None:
                _fail_with_log(
                    f"mynafleet dev exited with {process.returncode} before writing {endpoints_path}",
                    log_path,
                )
            if time.monotonic() > deadline:
                _fail_with_log(
                    f"{endpoints_path} did not appear within {STARTUP_DEADLINE_S:.0f} s", log_path
                )
            endpoints = _read_endpoints(endpoints_path)
            if endpoints is None:
                time.sleep(0.1)

        expected_keys = set(ENDPOINT_KEYS) | {"ca_bundle"}
        missing = expected_keys - endpoints.keys()
        assert not missing, f"endpoints.json lacks {sorted(missing)}: {endpoints}"
        ca_bundle = Path(endpoints["ca_bundle"])
        assert ca_bundle.is_absolute(), f"ca_bundle is not an absolute path: {ca_bundle}"
        assert ca_bundle.is_file(), f"ca_bundle {ca_bundle} does not exist"
        ca_pem = ca_bundle.read_bytes()
        assert b"BEGIN CERTIFICATE" in ca_pem, f"{ca_bundle} holds no PEM certificate"

        yield DevSuite(process, data_dir, log_path, endpoints, ca_bundle, ca_pem)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_DEADLINE_S)


def _list_services(stream_call) -> set[str]:
    """Sends one list_services request on a reflection stream; returns the names listed."""
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names: set[str] = set()
    for response in stream_call(iter([request]), timeout=RPC_TIMEOUT_S):
        assert not response.HasField("error_response"), (
            f"reflection error {response.error_response.error_code}: "
            f"{response.error_response.error_message}"
        )
        names.update(service.name for service in response.list_services_response.service)
    return names


@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_endpoint_is_loopback(suite: DevSuite, key: str) -> None:
    host, _, port = suite.endpoints[key].rpartition(":")
    assert host in ("localhost", "127.0.0.1"), f"{key} endpoint {suite.endpoints[key]} is not loopback"
    assert port.isdigit() and int(port) > 0, f"{key} endpoint has no bound port"


@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_health_serving_over_tls(suite: DevSuite, key: str) -> None:
    with suite.channel(key) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", API_SERVICE[key]):
            response = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT_S
            )
            assert response.status == health_pb2.HealthCheckResponse.SERVING, (
                f"{key}: health of {service or '(server)'!r} is "
                f"{health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)}"
            )


@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_reflection_v1alpha_lists_services(suite: DevSuite, key: str) -> None:
    with suite.channel(key) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        listed = _list_services(stub.ServerReflectionInfo)
    expected = COMMON_SERVICES | {API_SERVICE[key]}
    assert expected <= listed, f"{key}: reflection v1alpha lacks {sorted(expected - listed)}"


@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_reflection_v1_lists_services(suite: DevSuite, key: str) -> None:
    # grpcio-reflection ships only a v1alpha client; v1 has the same messages on the wire.
    with suite.channel(key) as channel:
        call = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        listed = _list_services(call)
    expected = COMMON_SERVICES | {API_SERVICE[key]}
    assert expected <= listed, f"{key}: reflection v1 lacks {sorted(expected - listed)}"


def test_internal_rpc_without_client_cert_is_unauthenticated(suite: DevSuite) -> None:
    with suite.channel("account") as channel:
        call = channel.unary_unary(
            INTERNAL_RPC, request_serializer=lambda x: x, response_deserializer=lambda x: x
        )
        with pytest.raises(grpc.RpcError) as raised:
            call(b"", timeout=RPC_TIMEOUT_S)
    code = raised.value.code()
    assert code == grpc.StatusCode.UNAUTHENTICATED, (
        f"{INTERNAL_RPC} without a client certificate gave {code}: {raised.value.details()}"
    )


def test_sigint_stops_cleanly_and_printout_names_ca_bundle(suite: DevSuite) -> None:
    # Last in the module: it ends the process the other tests share.
    assert suite.process.poll() is None, "mynafleet dev died before the shutdown test"
    suite.process.send_signal(signal.SIGINT)
    try:
        code = suite.process.wait(timeout=SHUTDOWN_DEADLINE_S)
    except subprocess.TimeoutExpired:
        _fail_with_log(f"mynafleet dev still running {SHUTDOWN_DEADLINE_S:.0f} s after SIGINT",
                       suite.log_path)
    if code != 0:
        _fail_with_log(f"mynafleet dev exited with {code} after SIGINT, expected 0", suite.log_path)
    log = suite.log_text()
    assert str(suite.ca_bundle) in log, (
        f"the printout does not mention the CA bundle path {suite.ca_bundle}:\n{log}"
    )

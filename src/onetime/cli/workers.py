"""Worker processes for `onetime serve --workers N`, each listening on a socket of its own.

uvicorn's supervisor gives every worker the same listening socket. The worker that wakes for
a new connection accepts all the connections waiting at that moment, so a burst of them (a
client opening its connection pool, a proxy reconnecting) can land almost all on one worker,
and with keep-alive they stay there while the other workers idle: with wrk's 32 connections
we saw splits of 29/3 and 31/1 between two workers. Here every worker slot has its own socket,
bound to the same address with SO_REUSEPORT, and Linux spreads new connections over the
sockets by a hash of their addresses (splits of 18/14, 16/16 and 13/19 in the same test;
13 % more creates per second on Redis, with a lower p99; docs/performance.md).

A slot keeps its socket for as long as the supervisor runs: a worker that dies, or is replaced
on SIGHUP, is succeeded on the same socket, so connections that arrive meanwhile wait in its
queue instead of being refused. SIGTTIN adds a slot with a new socket; SIGTTOU retires the last
slot and closes its socket once its worker has gone.

SO_REUSEPORT would also let a second server of the same user join our sockets and silently
take a share of the connections. So the address is first bound once without it: if anything
holds the address already, starting fails instead.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("uvicorn.error")


def balanced_listening_supported() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux does)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _shared_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def bind_worker_sockets(host: str, port: int, count: int) -> tuple[int, list[socket.socket]]:
    """`count` sockets bound to one address, and the port they share (port 0: one picked).

    Raises OSError when the address cannot be had, for instance when something listens on it.
    """
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        # Without SO_REUSEPORT: fails if any socket is bound there, ours-to-be included.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    finally:
        probe.close()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_shared_port_socket(host, port))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return port, sockets


class SocketPerWorker(Multiprocess):
    """uvicorn's supervisor (health checks, restarts, signals), with one socket per worker slot."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self.processes_num = len(sockets)
        self.slots = list(sockets)  # the worker in self.processes[i] listens on self.slots[i]
        self._host, self._port = str(config.host), sockets[0].getsockname()[1]

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self.slots[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(slot) for slot in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # it may only hang
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # It never served: the app or the configuration is broken, and a new worker
                # would fail the same way, over and over.
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            log.info("worker [%s] died; starting another on its socket", process.pid)
            self.processes[slot] = self._start(slot)

    def restart_all(self) -> None:
        """Replace the workers one by one, each new one serving before the old one stops."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._start(slot)
            timeout = self.config.timeout_worker_healthcheck
            if not new.wait_until_ready(timeout, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    log.error("worker [%s] did not start in time; keeping the others", new.pid)
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_ttin(self) -> None:
        log.info("Received SIGTTIN, adding a worker.")
        try:
            sock = _shared_port_socket(self._host, self._port)
        except OSError as error:
            log.error("cannot add a worker: %s", error)
            return
        self.slots.append(sock)
        self.processes_num += 1
        self.processes.append(self._start(len(self.slots) - 1))

    def handle_ttou(self) -> None:
        if self.processes_num <= 1:
            log.info("Received SIGTTOU; one worker is the fewest.")
            return
        log.info("Received SIGTTOU, retiring a worker.")
        self.processes_num -= 1
        process = self.processes.pop()
        process.terminate()
        process.join()
        # Connections still queued on it are reset; new ones go to the remaining sockets.
        self.slots.pop().close()

    def run(self) -> None:
        try:
            super().run()
        finally:
            for sock in self.slots:
                sock.close()

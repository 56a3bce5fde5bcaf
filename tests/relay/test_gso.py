"""A frame's packets in one system call (UDP GSO), with the loop's transport as the
fallback: the receiver sees the same datagrams either way."""

from __future__ import annotations

import asyncio
from typing import Any

from hearing_server.relay import gso
from hearing_server.relay.gso import GsoSender
from tests.relay.harness import wait_for


class Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.lost = False

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


async def endpoints() -> tuple[Any, Collect, Any, Collect]:
    loop = asyncio.get_running_loop()
    rx, rxp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    tx, txp = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
    return tx, txp, rx, rxp


def test_this_kernel_segments_udp() -> None:
    assert gso.SUPPORTED


async def test_equal_sized_packets_go_out_in_one_call_and_arrive_as_separate_datagrams(
        ) -> None:
    tx, txp, rx, rxp = await endpoints()
    try:
        sender = GsoSender(tx, txp)
        frame = [b"a" * 1200, b"b" * 1200, b"c" * 300]
        sender.send(frame, rx.get_extra_info("sockname"))
        await wait_for(lambda: len(rxp.got) == 3, 5)
        assert rxp.got == frame
        assert (sender.batches, sender.fallbacks) == (1, 0)
    finally:
        tx.close()
        rx.close()


async def test_uneven_packets_and_single_packets_fall_back_to_the_transport() -> None:
    tx, txp, rx, rxp = await endpoints()
    try:
        sender = GsoSender(tx, txp)
        addr = rx.get_extra_info("sockname")
        sender.send([b"a" * 100, b"b" * 200, b"c" * 50], addr)  # a middle packet is longer
        sender.send([b"audio"], addr)
        await wait_for(lambda: len(rxp.got) == 4, 5)
        assert rxp.got == [b"a" * 100, b"b" * 200, b"c" * 50, b"audio"]
        assert (sender.batches, sender.fallbacks) == (0, 2)
    finally:
        tx.close()
        rx.close()


async def test_the_duplicate_descriptor_closes_with_the_transport() -> None:
    tx, txp, rx, _ = await endpoints()
    try:
        sender = GsoSender(tx, txp)
        assert sender._socket is not None
        tx.close()
        await wait_for(lambda: txp.lost, 5)  # the protocol still hears it
        assert sender._socket is None
    finally:
        rx.close()

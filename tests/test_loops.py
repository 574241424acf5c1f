"""A server's background loops: one dying of its own error leaves the others
running, and stopping cancels and awaits every one."""

import asyncio

from focusgql.loops import BackgroundLoops


async def test_a_failing_loop_leaves_the_others_and_stop_ends_them_all() -> None:
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    async def broken() -> None:
        raise RuntimeError("a bug in one loop")

    loops = BackgroundLoops()
    loops.start(forever("first"))
    loops.start(broken())
    loops.start(forever("last"))
    await asyncio.sleep(0.01)  # the broken one has died by now
    assert stopped == []
    await loops.stop()
    assert stopped == ["first", "last"]  # cancelled, and awaited, in start order

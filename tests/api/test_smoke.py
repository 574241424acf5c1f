from tests.support import Client, ManualClock

SESSION = (
    "id status elapsedSeconds activeSeconds idleSeconds tabSwitches focusScore projectedFocusScore"
)


async def test_a_whole_session_over_http(alice: Client, clock: ManualClock) -> None:
    created = (
        await alice.execute(
            f"mutation {{ createSession(input: {{targetMinutes: 1}}) {{ {SESSION} }} }}"
        )
    )["createSession"]
    assert created["status"] == "ACTIVE"
    assert created["elapsedSeconds"] == 0
    sid = created["id"]
    clock.advance(20)
    read = (await alice.execute(f'{{ session(id: "{sid}") {{ {SESSION} }} }}'))["session"]
    assert (read["elapsedSeconds"], read["activeSeconds"], read["idleSeconds"]) == (20, 15, 5)
    await alice.execute(f'mutation {{ recordTabSwitch(sessionId: "{sid}") {{ id }} }}')
    ended = (await alice.execute(f'mutation {{ endSession(id: "{sid}") {{ {SESSION} }} }}'))[
        "endSession"
    ]
    assert ended["status"] == "COMPLETED"
    assert ended["tabSwitches"] == 1
    assert ended["focusScore"] == ended["projectedFocusScore"]

"""State machines as tables: a kind writes its lifecycle as a `Table` (the
states, nested where the vendor's guide has phases, and the transitions with
their guards as `conditions`/`unless`), builds one machine from it that all
its devices share, and the same table draws its diagram (docs/machines/).

transitions binds every trigger, `may_<trigger>` check and `is_<state>`
test to each model as a partial: dozens of objects per device. Here they are
bound once, on the model's class (`Table.machine(...).bind(cls)`), so a
device costs its `state` attribute and nothing more. A model class declares
the triggers it uses as annotations (`boot: Trigger`) so type checkers see
them; `bind` refuses a class that declares a trigger the table lacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine
from transitions.extensions import GraphMachine, HierarchicalGraphMachine
from transitions.extensions.nesting import HierarchicalMachine

Trigger = Callable[..., bool]      # what a bound trigger or `may_<trigger>` check looks like to the model


class _BoundOnClass:
    """Skip transitions' per-model bindings; `bind` puts them on the class instead.

    A model joins by taking its first state and nothing else: the machine keeps
    no list of its models, so adding one is O(1) and a lab that stops leaves
    none of its devices behind in the (module-wide) machine."""

    events: dict[str, Any]

    def add_model(self, model: Any, initial: Any = None) -> None:
        self.set_state(initial, model=model)  # type: ignore[attr-defined]

    def _fire(self, model: Any, trigger: str, *args: Any, **kwargs: Any) -> bool:
        return bool(self.events[trigger].trigger(model, *args, **kwargs))

    def blocking_guard(self, model: Any, trigger: str) -> str | None:
        """Why `trigger` cannot fire now: the first guard that does not hold on
        the last transition of `trigger` leaving the model's state (the general
        case, after the special ones), or None when no transition leaves it."""
        found = self._transitions_from(model.state, trigger)
        if not found:
            return None
        for condition in found[-1].conditions:
            func = condition.func
            if bool(getattr(model, func)() if isinstance(func, str) else func()) != condition.target:
                return func if isinstance(func, str) else getattr(func, "__name__", "guard")
        return ""

    def _transitions_from(self, state: str, trigger: str) -> list[Any]:
        return list(self.get_transitions(trigger=trigger, source=state))  # type: ignore[attr-defined]

    def bind(self, cls: type) -> type:
        """Give `cls` this machine's triggers and their `may_` checks."""
        declared = {name for klass in cls.__mro__ for name, kind in vars(klass).get("__annotations__", {}).items()
                    if kind in ("Trigger", Trigger)}
        unknown = {name for name in declared if name.removeprefix("may_") not in self.events}
        if unknown:
            raise TypeError(f"{cls.__name__} declares triggers its machine does not have: {sorted(unknown)}")
        for name in self.events:
            if name.startswith("to_"):
                continue
            setattr(cls, name, _method(self._fire, name))
            setattr(cls, f"may_{name}", _method(self._can_trigger, name))  # type: ignore[attr-defined]
        return cls


def _announced(state: Any, callback: str) -> Any:
    """`state` with `callback` first among the on_enter callbacks of its leaves (so that
    the state change is told before whatever entering it starts)."""
    if isinstance(state, str):
        return {"name": state, "on_enter": [callback]}
    if state.get("children"):
        return {**state, "children": [_announced(child, callback) for child in state["children"]]}
    on_enter = state.get("on_enter") or []
    return {**state, "on_enter": [callback, *([on_enter] if isinstance(on_enter, str) else on_enter)]}


def _method(call: Callable[..., Any], trigger: str) -> Callable[..., bool]:
    def method(self: Any, *args: Any, **kwargs: Any) -> bool:
        return bool(call(self, trigger, *args, **kwargs))
    method.__name__ = trigger
    return method


class SharedMachine(_BoundOnClass, Machine):
    pass


class SharedHierarchicalMachine(_BoundOnClass, HierarchicalMachine):
    def _transitions_from(self, state: str, trigger: str) -> list[Any]:
        # a transition declared on a parent state leaves its children too
        return list(self.get_transitions(trigger=trigger, source=state, delegate=True))

    def _fire(self, model: Any, trigger: str, *args: Any, **kwargs: Any) -> bool:
        return bool(self.trigger_event(model, trigger, *args, **kwargs))


@dataclass(frozen=True)
class Table:
    """A lifecycle as the vendor's documents tell it."""

    name: str                               # the diagram's file: docs/machines/<name>.md
    title: str
    states: Sequence[Any]                   # names, or {"name", "children", "initial"} for phases
    transitions: Sequence[dict[str, Any]]
    initial: str                            # where a diagram starts (a model's own start is its add_model's)
    doc: str = ""                           # what a reader should know beside the diagram
    options: dict[str, Any] = field(default_factory=dict)    # more Machine keywords (callbacks)
    announce: str | None = None             # the model's method called first on entering any state

    @property
    def nested(self) -> bool:
        return any(isinstance(s, dict) and s.get("children") for s in self.states)

    def machine(self) -> SharedMachine | SharedHierarchicalMachine:
        """The one machine every model of this table shares (`add_model`)."""
        cls = SharedHierarchicalMachine if self.nested else SharedMachine
        states = [_announced(state, self.announce) for state in self.states] if self.announce else list(self.states)
        return cls(model=None, states=states, transitions=list(self.transitions), initial=None,
                   auto_transitions=False, **self.options)

    def mermaid(self) -> str:
        """The machine as a Mermaid state diagram (guards shown as [condition] and [!unless])."""
        cls = HierarchicalGraphMachine if self.nested else GraphMachine
        graph = cls(states=list(self.states), transitions=list(self.transitions), initial=self.initial,
                    auto_transitions=False, graph_engine="mermaid", show_conditions=True, title=self.title)
        text = str(graph.get_graph().draw(None)).replace(" | \n", "\n")   # an empty label the engine leaves
        # A vendor's state name may hold spaces ("Standby Ready"): fine as a label, not as a Mermaid id.
        for name in sorted((s for s in self.states if isinstance(s, str) and " " in s), key=len, reverse=True):
            text = text.replace(f'"{name}"', "\0").replace(name, name.replace(" ", "_")).replace("\0", f'"{name}"')
        return text

    def page(self) -> str:
        """docs/machines/<name>.md: generated from the table; a test keeps it equal to the code."""
        return (f"# {self.title}\n\n<!-- generated from the machine's table by scripts/machines; "
                f"do not edit -->\n\n{self.doc.strip()}\n\n```mermaid\n{self.mermaid().strip()}\n```\n")

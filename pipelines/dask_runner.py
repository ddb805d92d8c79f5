"""Beam's DaskRunner (Beam 2.77, 2.78) with the three defects that stopped a whole run on a Dask cluster mended here:

1. It computes only the pipeline's last transform and what leads to it, so of a pipeline with several writes only
   some ran (the run ended after ReadAndFilter, without `counts.jsonl`). Here every transform whose output no other
   transform reads is computed.
2. A side input reaches each consuming bundle as an unevaluated bag, which the bundle computes again inside its own
   task, while the main graph computes the same steps: the same unit was prepared twice at once and its files
   renamed under each other. Here a side input is a dependency of the bundles that read it, computed once.
3. A ParDo with tagged outputs (`.with_outputs`) puts every output in one bag and drops the tags, so each reader of
   one output got all of them. Here a bundle returns (tag, value) pairs and each output reads its own tag.

Not defects but costs: its Flatten adds up the inputs' partitions, so every join (a CoGroupByKey is a Flatten)
multiplied tasks; here a Flatten keeps as many partitions as its largest input. And the graph is computed fused
(below), so that no list of records waits between two tasks of one bundle.

`python bench/dask_defects.py` reproduces them on Beam's runner in a few lines. Everything else is Beam's: the
graph translation (`TRANSLATIONS`), the bundle invocation and the result object.
"""

from __future__ import annotations

from typing import Any

from apache_beam import pvalue
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.pvalue import TaggedOutput
from apache_beam.runners.common import DoFnInvoker
from apache_beam.runners.dask import dask_runner as beam_dask
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunnerResult
from apache_beam.runners.dask.overrides import dask_overrides
from apache_beam.runners.dask.transform_evaluator import TRANSLATIONS, Flatten, NoOp, ParDo, get_windowed_value
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.sideinputs import SideInputMap


class _Captured:
    """Stands in for a bag so that Beam's ParDo translation hands over what it builds for a bundle (the invoker's
    arguments and receivers) instead of applying it."""

    def map(self, *args, **kwargs) -> "_Captured":
        return self

    def map_partitions(self, function, *args) -> "_Captured":
        self.args = args
        return self


class _SideValues:
    """A side input's computed elements, as the windowed values a SideInputMap iterates."""

    def __init__(self, values: list, window_fn):
        self._values, self._window_fn = values, window_fn

    def __iter__(self):
        return (get_windowed_value(v, self._window_fn) for v in self._values)


def _joined(*partitions) -> list:
    return [value for partition in partitions for value in partition]


def _bundle(items, invoker_args, invoker_kwargs, receivers, views, *side_values) -> list[tuple[str | None, Any]]:
    """One bundle of a ParDo (as Beam's `apply_dofn_to_bundle`), its outputs as (tag, value): None is the main one."""
    sides = [SideInputMap(view_type, view_options, _SideValues(values, window_fn))
             for (view_type, view_options, window_fn), values in zip(views, side_values)]
    invoker = DoFnInvoker.create_invoker(*invoker_args, **dict(invoker_kwargs, side_inputs=sides))
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()
    outputs = [(out.tag, out.value.value) if isinstance(out, TaggedOutput) else (None, out.value)
               for out in receivers.values]
    receivers.values.clear()
    invoker.invoke_teardown()
    return outputs


def _pardo(node: AppliedPTransform, input_bag, side_bags: list, bag_kwargs: dict):
    """A ParDo's bundles over `input_bag`, each reading the side inputs computed once (a bag of (tag, value))."""
    from dask import delayed

    captured = ParDo(node, bag_kwargs=bag_kwargs).apply(_Captured(), side_inputs=None)
    invoker_args, invoker_kwargs, receivers = captured.args
    views = [(type(si), si._view_options(), si._window_mapping_fn) for si in node.side_inputs]
    window_fn = next(iter(node.main_inputs.values())).windowing.windowfn
    # Once each, before the bundles that read it, under the keys the main graph has for the same steps (an
    # optimized copy of the graph would have other keys, and the steps would run twice).
    computed = [delayed(_joined)(*bag.to_delayed(optimize_graph=False)) for bag in side_bags]
    return input_bag.map(get_windowed_value, window_fn).map_partitions(
        _bundle, invoker_args, invoker_kwargs, receivers, views, *computed)


def _tagged(tag: str | None):
    def output(bag):
        return bag.filter(lambda pair: pair[0] == tag).map(lambda pair: pair[1])
    return output


class _Translate(PipelineVisitor):
    """Every leaf transform into a dask bag, in topological order; remembers which transforms nothing reads."""

    def __init__(self, bag_kwargs: dict):
        self.bag_kwargs = bag_kwargs
        self.bags: dict[AppliedPTransform, Any] = {}                     # a transform's bag
        self.outputs_of: dict[tuple[AppliedPTransform, str | None], Any] = {}   # each output's, by tag
        self.read: set[AppliedPTransform] = set()

    def visit_transform(self, node: AppliedPTransform) -> None:
        op = TRANSLATIONS.get(node.transform.__class__, NoOp)(node, bag_kwargs=self.bag_kwargs)
        inputs = [None if isinstance(v, pvalue.PBegin) else self.outputs_of[(v.producer, v.tag)]
                  for v in node.inputs if isinstance(v, pvalue.PBegin) or (v.producer, v.tag) in self.outputs_of]
        self.read.update(v.producer for v in node.inputs if not isinstance(v, pvalue.PBegin))
        self.read.update(si.pvalue.producer for si in node.side_inputs)
        main = inputs if isinstance(op, Flatten) or len(inputs) != 1 else inputs[0]
        if isinstance(op, ParDo):
            sides = [self.outputs_of[(si.pvalue.producer, si.pvalue.tag)] for si in node.side_inputs]
            bag = self.bags[node] = _pardo(node, main, sides, self.bag_kwargs)
            for tag in node.outputs:
                self.outputs_of[(node, tag)] = _tagged(tag)(bag)
        else:
            bag = op.apply(input_bag=main, side_inputs=None)
            if isinstance(op, Flatten) and len(main) > 1:
                # Beam's concat adds up its inputs' partitions, and every CoGroupByKey is a Flatten: down the
                # dedup steps a bag reached 168 partitions from 7 units, each a task per step and shuffle
                # (3,467 bundles and 43k tasks for the sample, 160 s). As many as the largest input has.
                bag = bag.repartition(npartitions=max(b.npartitions for b in main))
            self.bags[node] = self.outputs_of[(node, None)] = bag

    def outputs(self) -> list:
        """The bags of the transforms whose output no transform reads: the pipeline's ends."""
        return [bag for node, bag in self.bags.items() if node not in self.read and bag is not None]


class DaskRunner(beam_dask.DaskRunner):
    """Runs the pipeline on the Dask cluster named by `--dask_client_address` (a local one without it)."""

    def run_pipeline(self, pipeline, options):
        import dask.distributed as ddist

        dask_options = options.view_as(DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        pipeline.replace_all(dask_overrides())
        translate = _Translate(bag_kwargs)
        pipeline.visit(translate)
        # Optimized (fused): unfused, every `map` of a bundle's input and output was a task whose result a worker
        # stored, each a list sharing the same blocks. Dask spilled one list to disk while another still held the
        # blocks, so spilling freed nothing, and past 2M documents the workers paused at their limit for good. A
        # task read by two others (a side input's) ends a fused chain and keeps its key, so it still runs once.
        futures = client.compute(translate.outputs(), optimize_graph=True)
        return _Result(client, futures)


class _Result(DaskRunnerResult):
    """Beam's result, which also lets go of the cluster when the run has ended (its client otherwise stays open, and
    keeps trying to reconnect with tracebacks once the cluster stops)."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            return super().wait_until_finish(duration)
        finally:
            if self._state in (PipelineState.DONE, PipelineState.FAILED):
                self.client.close()

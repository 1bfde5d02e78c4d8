"""Run by the fate-client 1.5.0 venv's python: FATE's pipeline SDK trains hetero LR through us,
then deploys it and predicts with it.

`pipeline init` has already pointed the SDK at the standalone's one address, where both tables
are uploaded. Prints one JSON object for the test to check.
"""

import json
import sys
import types

# `import pipeline.component` imports this one TensorFlow name (for the NN components only),
# and TensorFlow has no build for this Python: a stand-in module is the only shim.
for name in ("tensorflow", "tensorflow.python", "tensorflow.python.keras"):
    sys.modules[name] = types.ModuleType(name)
engine = types.ModuleType("tensorflow.python.keras.engine")
engine.base_layer = types.SimpleNamespace(Layer=type("Layer", (), {}))
sys.modules[engine.__name__] = engine

from pipeline.backend.pipeline import PipeLine  # noqa: E402
from pipeline.component import DataIO, Evaluation, HeteroLR, Intersection, Reader  # noqa: E402
from pipeline.interface import Data  # noqa: E402
from pipeline.runtime.entity import JobParameters  # noqa: E402

GUEST, HOST = 9999, 10000

pipeline = PipeLine().set_initiator(role="guest", party_id=GUEST)
pipeline.set_roles(guest=GUEST, host=HOST, arbiter=HOST)

reader_0 = Reader(name="reader_0")
reader_0.get_party_instance(role="guest", party_id=GUEST).component_param(
    table={"name": "breast_hetero_guest", "namespace": "experiment"}
)
reader_0.get_party_instance(role="host", party_id=HOST).component_param(
    table={"name": "breast_hetero_host", "namespace": "experiment"}
)
dataio_0 = DataIO(name="dataio_0")
dataio_0.get_party_instance(role="guest", party_id=GUEST).component_param(
    with_label=True, label_name="y", label_type="int", output_format="dense"
)
dataio_0.get_party_instance(role="host", party_id=HOST).component_param(with_label=False)
intersection_0 = Intersection(name="intersection_0")
hetero_lr_0 = HeteroLR(
    name="hetero_lr_0",
    penalty="L2",
    optimizer="rmsprop",
    alpha=0.01,
    learning_rate=0.15,
    max_iter=3,
    batch_size=-1,
    init_param={"init_method": "zeros"},
)
evaluation_0 = Evaluation(name="evaluation_0", eval_type="binary", pos_label=1)
evaluation_0.get_party_instance(role="host", party_id=HOST).component_param(need_run=False)

pipeline.add_component(reader_0)
pipeline.add_component(dataio_0, data=Data(data=reader_0.output.data))
pipeline.add_component(intersection_0, data=Data(data=dataio_0.output.data))
pipeline.add_component(hetero_lr_0, data=Data(train_data=intersection_0.output.data))
pipeline.add_component(evaluation_0, data=Data(data=hetero_lr_0.output.data))
pipeline.compile()
pipeline.fit(JobParameters(work_mode=1, backend=0))

predictions = pipeline.get_component("hetero_lr_0").get_output_data(limits=10)

# Deploy, then predict the same tables with the trained model, as FATE's examples do.
pipeline.deploy_component([dataio_0, intersection_0, hetero_lr_0])
reader_1 = Reader(name="reader_1")
reader_1.get_party_instance(role="guest", party_id=GUEST).component_param(
    table={"name": "breast_hetero_guest", "namespace": "experiment"}
)
reader_1.get_party_instance(role="host", party_id=HOST).component_param(
    table={"name": "breast_hetero_host", "namespace": "experiment"}
)
predict_pipeline = PipeLine()
predict_pipeline.add_component(reader_1)
predict_pipeline.add_component(
    pipeline, data=Data(predict_input={pipeline.dataio_0.input.data: reader_1.output.data})
)
predict_pipeline.predict(JobParameters(work_mode=1, backend=0))

print(
    json.dumps(
        {
            "evaluation": pipeline.get_component("evaluation_0").get_summary(),
            "lr_summary": pipeline.get_component("hetero_lr_0").get_summary(),
            "model": pipeline.get_component("hetero_lr_0").get_model_param(),
            "predictions": predictions,
            # The SDK 1.5.0 cannot name a deployed component of a predict pipeline.
            "predict_job_id": predict_pipeline._predict_job_id,
        },
        default=str,
    )
)

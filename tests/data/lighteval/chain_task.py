"""lighteval custom task used to make tests/data/lighteval/out (see README.md here): the chain-mod-10 problems of
tests/data/lm_eval_task/problems.jsonl, 8 sampled generations per problem (maj@n with n=8)."""
import os

from lighteval.metrics.metrics import Metrics
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc

DATA = os.environ["CHAIN_DATA_DIR"]  # a directory holding test.jsonl (the problems file, renamed)


def prompt(line, task_name: str = None):
    return Doc(task_name=task_name, query=line["prompt"], choices=[line["answer"]], gold_index=0, id=line["id"])


chain = LightevalTaskConfig(
    name="chain_mod10", prompt_function=prompt, hf_repo=DATA, hf_subset="default", hf_avail_splits=["test"],
    evaluation_splits=["test"], few_shots_split=None, few_shots_select=None, generation_size=8,
    metrics=[Metrics.maj_at_n(sample_params={"n": 8})], stop_sequence=["Q:"], version=0)
TASKS_TABLE = [chain]

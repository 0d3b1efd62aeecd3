"""What the `airflow` import hook serves: each Airflow module a DAG file may import, the names it
offers and the flowtui object behind each ("module:attribute"), and the Airflow names flowtui
plans to provide (refused with "not yet"). Plain data, cheap to import: the hook
(`airflow_hook`) reads it in every process that loads DAG files."""

from __future__ import annotations

_DAG = "flowtui.authoring.dag:DAG"
_BASE = "flowtui.authoring.baseoperator:BaseOperator"
_CHAIN = "flowtui.authoring.baseoperator:chain"
_VARIABLE = "flowtui.authoring.variables:Variable"
_XCOM_ARG = "flowtui.authoring.xcom_arg:XComArg"
_DATASET = "flowtui.authoring.datasets:Dataset"
_ASSETS = "flowtui.authoring.assets:"
_ASSET_NAMES = {
    "Asset": _ASSETS + "Asset",
    "AssetAlias": _ASSETS + "AssetAlias",
    "AssetAll": _ASSETS + "AssetAll",
    "AssetAny": _ASSETS + "AssetAny",
    "asset": "flowtui.authoring.asset_decorator:asset",
}
_DATASET_NAMES = {
    "Dataset": _DATASET,
    "DatasetAlias": _ASSETS + "AssetAlias",
    "DatasetAll": _ASSETS + "AssetAll",
    "DatasetAny": _ASSETS + "AssetAny",
}
_TRIGGER_RULE = "flowtui.states:TriggerRule"
_TASK_GROUP = "flowtui.authoring.task_group:TaskGroup"
_TASK_GROUP_DECORATOR = "flowtui.authoring.task_group:task_group"
_LABEL = "flowtui.authoring.edge_label:Label"
_CURRENT_CONTEXT = "flowtui.authoring.current_context:get_current_context"
_PARAM = "flowtui.authoring.params:Param"
_SETUP_TEARDOWN = {
    "setup": "flowtui.authoring.setup_teardown:setup",
    "teardown": "flowtui.authoring.setup_teardown:teardown",
}
_PARAMS_DICT = "flowtui.authoring.params:ParamsDict"
_RETRY_POLICY_NAMES = {
    name: f"flowtui.authoring.retry_policy:{name}"
    for name in ("RetryPolicy", "ExceptionRetryPolicy", "RetryRule", "RetryAction", "RetryDecision")
}
_TASK = "flowtui.loading.airflow_shims:task"
_DAG_DECORATOR = "flowtui.authoring.taskflow:dag"
_OPERATORS = "flowtui.authoring.operators:"
_SENSORS = "flowtui.authoring.sensors:"
_EXCEPTIONS = "flowtui.authoring.exceptions:"

_PYTHON = {
    "PythonOperator": _OPERATORS + "PythonOperator",
    "PythonVirtualenvOperator": _OPERATORS + "PythonVirtualenvOperator",
    "ExternalPythonOperator": _OPERATORS + "ExternalPythonOperator",
    "BranchPythonOperator": _OPERATORS + "BranchPythonOperator",
    "ShortCircuitOperator": _OPERATORS + "ShortCircuitOperator",
    "get_current_context": _CURRENT_CONTEXT,
}
_BASE_SENSOR = {
    "BaseSensorOperator": _SENSORS + "BaseSensorOperator",
    "PokeReturnValue": _SENSORS + "PokeReturnValue",
}
_SENSOR_MODULES = {
    "filesystem": {"FileSensor": _SENSORS + "FileSensor"},
    "external_task": {
        "ExternalTaskSensor": _SENSORS + "ExternalTaskSensor",
        "ExternalTaskMarker": _OPERATORS + "ExternalTaskMarker",
    },
    "time_delta": {"TimeDeltaSensor": _SENSORS + "TimeDeltaSensor"},
    "date_time": {"DateTimeSensor": _SENSORS + "DateTimeSensor"},
    "python": {"PythonSensor": _SENSORS + "PythonSensor"},
    "bash": {"BashSensor": _SENSORS + "BashSensor"},
    "base": _BASE_SENSOR,
}
_OPERATOR_MODULES = {
    "python": _PYTHON,
    "bash": {"BashOperator": _OPERATORS + "BashOperator"},
    "empty": {"EmptyOperator": _OPERATORS + "EmptyOperator"},
    "latest_only": {"LatestOnlyOperator": _OPERATORS + "LatestOnlyOperator"},
    "weekday": {"BranchDayOfWeekOperator": _OPERATORS + "BranchDayOfWeekOperator"},
    "datetime": {"BranchDateTimeOperator": _OPERATORS + "BranchDateTimeOperator"},
    "trigger_dagrun": {"TriggerDagRunOperator": _OPERATORS + "TriggerDagRunOperator"},
}

SERVED: dict[str, dict[str, str]] = {
    "airflow": {"DAG": _DAG, "Dataset": _DATASET, "XComArg": _XCOM_ARG},
    "airflow.sdk": {
        "DAG": _DAG,
        "dag": _DAG_DECORATOR,
        "task": _TASK,
        "BaseOperator": _BASE,
        "chain": _CHAIN,
        "Variable": _VARIABLE,
        "XComArg": _XCOM_ARG,
        "TriggerRule": _TRIGGER_RULE,
        "Context": "flowtui.authoring.baseoperator:Context",
        "TaskGroup": _TASK_GROUP,
        "task_group": _TASK_GROUP_DECORATOR,
        "Label": _LABEL,
        "get_current_context": _CURRENT_CONTEXT,
        "Param": _PARAM,
        **_SETUP_TEARDOWN,
        "ParamsDict": _PARAMS_DICT,
        **_BASE_SENSOR,
        **_ASSET_NAMES,
        **_RETRY_POLICY_NAMES,
    },
    "airflow.sdk.definitions": {},
    "airflow.sdk.definitions.param": {"Param": _PARAM, "ParamsDict": _PARAMS_DICT},
    "airflow.sdk.definitions.retry_policy": _RETRY_POLICY_NAMES,
    "airflow.models": {"DAG": _DAG, "BaseOperator": _BASE, "Variable": _VARIABLE, "Param": _PARAM},
    "airflow.models.param": {"Param": _PARAM, "ParamsDict": _PARAMS_DICT},
    "airflow.models.dag": {"DAG": _DAG},
    "airflow.models.baseoperator": {"BaseOperator": _BASE, "chain": _CHAIN},
    "airflow.models.variable": {"Variable": _VARIABLE},
    "airflow.models.xcom_arg": {"XComArg": _XCOM_ARG},
    "airflow.decorators": {
        "dag": _DAG_DECORATOR,
        "task": _TASK,
        "task_group": _TASK_GROUP_DECORATOR,
        **_SETUP_TEARDOWN,
    },
    "airflow.datasets": _DATASET_NAMES,
    "airflow.exceptions": {
        "AirflowException": _EXCEPTIONS + "AirflowException",
        "AirflowSkipException": _EXCEPTIONS + "AirflowSkipException",
        "AirflowFailException": _EXCEPTIONS + "AirflowFailException",
        "AirflowSensorTimeout": _EXCEPTIONS + "AirflowSensorTimeout",
        "AirflowRescheduleException": _EXCEPTIONS + "AirflowRescheduleException",
        "ParamValidationError": "flowtui.authoring.params:ParamValidationError",
    },
    "airflow.operators": {},
    **{f"airflow.operators.{name}": names for name, names in _OPERATOR_MODULES.items()},
    "airflow.operators.dummy": {"DummyOperator": _OPERATORS + "EmptyOperator"},
    "airflow.operators.email": {"EmailOperator": _OPERATORS + "EmailOperator"},
    "airflow.sensors": {},
    **{f"airflow.sensors.{name}": names for name, names in _SENSOR_MODULES.items()},
    "airflow.providers": {},
    "airflow.providers.standard": {},
    "airflow.providers.standard.operators": {},
    **{
        f"airflow.providers.standard.operators.{name}": names
        for name, names in _OPERATOR_MODULES.items()
    },
    "airflow.providers.standard.sensors": {},
    **{
        f"airflow.providers.standard.sensors.{name}": names
        for name, names in _SENSOR_MODULES.items()
        if name != "base"
    },
    "airflow.providers.standard.utils": {},
    "airflow.providers.standard.utils.weekday": {"WeekDay": _OPERATORS + "WeekDay"},
    "airflow.providers.smtp": {},
    "airflow.providers.smtp.operators": {},
    "airflow.providers.smtp.operators.smtp": {"EmailOperator": _OPERATORS + "EmailOperator"},
    "airflow.utils": {},
    "airflow.utils.dates": {"days_ago": "flowtui.loading.airflow_shims:days_ago"},
    "airflow.utils.timezone": {
        name: f"flowtui.loading.airflow_shims:{name}"
        for name in (
            "utc",
            "utcnow",
            "datetime",
            "parse",
            "make_aware",
            "convert_to_utc",
            "is_localized",
            "is_naive",
        )
    },
    "airflow.utils.trigger_rule": {"TriggerRule": _TRIGGER_RULE},
    "airflow.utils.task_group": {"TaskGroup": _TASK_GROUP},
    "airflow.utils.edgemodifier": {"Label": _LABEL},
    "airflow.utils.weekday": {"WeekDay": _OPERATORS + "WeekDay"},
    "airflow.timetables": {},
    "airflow.timetables.simple": {
        "NullTimetable": "flowtui.loading.airflow_shims:NullTimetable",
        "OnceTimetable": "flowtui.loading.airflow_shims:OnceTimetable",
    },
    "airflow.timetables.trigger": {
        "CronTriggerTimetable": "flowtui.authoring.cron_trigger:CronTriggerTimetable"
    },
    "airflow.timetables.interval": {
        "CronDataIntervalTimetable": "flowtui.loading.airflow_shims:CronDataIntervalTimetable",
        "DeltaDataIntervalTimetable": "flowtui.loading.airflow_shims:DeltaDataIntervalTimetable",
    },
    "airflow.timetables.assets": {"AssetOrTimeSchedule": _ASSETS + "AssetOrTimeSchedule"},
    "airflow.timetables.datasets": {
        "DatasetOrTimeSchedule": "flowtui.authoring.datasets:DatasetOrTimeSchedule"
    },
}
"""Airflow module -> {name: "flowtui module:attribute"}. Every served module is a package (an
empty one where Airflow's only holds submodules), so its served submodules import too."""

PLANNED_METHODS = {
    "expand": "mapped task groups",
    "expand_kwargs": "mapped task groups",
    "partial": "mapped task groups",
}
"""Methods of operators and TaskFlow objects that Airflow files call and flowtui does not have
yet, with the feature they belong to: the loader reports the AttributeError as a refusal."""

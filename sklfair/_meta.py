"""Pieces shared by the fairness meta-estimators.

:class:`FitRoutingMixin` gives ``ReweighingClassifier``,
``FairConstrainedClassifier``/``Regressor`` and ``DistilledClassifier``/
``Regressor`` the same metadata routing: ``sample_weight`` and
``sensitive_features`` are consumed by the meta-estimator itself, and any other
fit parameter is routed to the wrapped estimator's ``fit``.
"""

from __future__ import annotations

from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

__all__ = ["FitRoutingMixin"]


class FitRoutingMixin:
    """Route fit parameters other than the consumed ones to the child.

    Subclasses name the constructor parameter holding the child in
    ``_routed_child`` (``"estimator"`` by default).
    """

    _routed_child = "estimator"

    def get_metadata_routing(self):
        """Metadata routing of this object.

        ``sample_weight`` and ``sensitive_features`` are consumed here (set
        their request with ``set_fit_request``); any other fit parameter is
        routed to the wrapped estimator's ``fit``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        child = {self._routed_child: getattr(self, self._routed_child)}
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                **child,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

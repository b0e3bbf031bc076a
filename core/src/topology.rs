//! The dependency graph as two bitmask tables.
//!
//! Bit `i` of a mask stands for `Service::ALL[i]`. Iterating a mask from the low bit up
//! yields services in canonical order, which is also the order the original lists
//! dependencies in.

use crate::vocab::{SERVICE_COUNT, Service};

/// A set of services, bit `i` for `Service::ALL[i]`.
pub type ServiceMask = u8;

/// Every service.
pub const ALL_SERVICES: ServiceMask = (1 << SERVICE_COUNT) - 1;

/// `DEPENDS_ON[s]`: the services `s` calls.
pub const DEPENDS_ON: [ServiceMask; SERVICE_COUNT] = [
    bit(Service::AuthService) | bit(Service::OrderService),
    bit(Service::UserService),
    bit(Service::Database),
    bit(Service::PaymentService) | bit(Service::Database),
    bit(Service::Database),
    0,
];

/// `DEPENDED_BY[s]`: the services that call `s` (the transpose of [`DEPENDS_ON`]).
pub const DEPENDED_BY: [ServiceMask; SERVICE_COUNT] = transpose(DEPENDS_ON);

/// Return the mask holding only `service`.
#[must_use]
pub const fn bit(service: Service) -> ServiceMask {
    1 << service as u8
}

/// Return whether `mask` holds `service`.
#[must_use]
pub const fn contains(mask: ServiceMask, service: Service) -> bool {
    mask & bit(service) != 0
}

/// Iterate the services of a mask in canonical order.
pub fn services(mask: ServiceMask) -> impl Iterator<Item = Service> + Clone {
    Service::ALL
        .into_iter()
        .filter(move |service| contains(mask, *service))
}

const fn transpose(table: [ServiceMask; SERVICE_COUNT]) -> [ServiceMask; SERVICE_COUNT] {
    let mut out = [0; SERVICE_COUNT];
    let mut from = 0;
    while from < SERVICE_COUNT {
        let mut to = 0;
        while to < SERVICE_COUNT {
            if table[from] & (1 << to) != 0 {
                out[to] |= 1 << from;
            }
            to += 1;
        }
        from += 1;
    }
    out
}

const _: () = {
    // The graph is acyclic in canonical order: a service only depends on later ones.
    let mut index = 0;
    while index < SERVICE_COUNT {
        assert!(DEPENDS_ON[index] & ((1 << (index + 1)) - 1) == 0);
        index += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_original_graph() {
        // Goal: the depends-on lists are the original's, in its order, and the
        // depended-by table is their exact transpose.
        let names = |mask| services(mask).map(Service::name).collect::<Vec<_>>();
        assert_eq!(
            names(DEPENDS_ON[0]),
            ["auth_service", "order_service"],
            "api_gateway"
        );
        assert_eq!(names(DEPENDS_ON[3]), ["payment_service", "database"]);
        assert!(names(DEPENDS_ON[5]).is_empty());
        assert_eq!(
            names(DEPENDED_BY[5]),
            ["user_service", "order_service", "payment_service"]
        );
        assert_eq!(DEPENDED_BY[0], 0);
    }
}

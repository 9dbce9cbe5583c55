import Foundation

/// The city's counties as outlines (`Topology/counties.geojson`), and the same drawn as SVG paths for the
/// dashboard's and the report's choropleths. Counties only: no township boundaries are published.
package struct CountyMap: Sendable {
    package struct Point: Sendable, Hashable {
        package let longitude: Double
        package let latitude: Double
    }

    package struct Area: Sendable {
        package let code: DivisionCode
        package let name: String
        /// Each polygon is its outer ring followed by its holes.
        package let polygons: [[[Point]]]
    }

    package let areas: [Area]

    /// Reads a GeoJSON FeatureCollection whose features carry `properties.code` (a 12-digit division code) and
    /// `properties.name`, with Polygon or MultiPolygon geometry in longitude/latitude.
    package init(geoJSON: Data) throws(CountyMapError) {
        let collection: GeoJSON.Collection
        do {
            collection = try JSONDecoder().decode(GeoJSON.Collection.self, from: geoJSON)
        } catch {
            throw CountyMapError("not a GeoJSON feature collection of the expected shape: \(error)")
        }
        var areas: [Area] = []
        for (index, feature) in collection.features.enumerated() {
            guard let code = DivisionCode(feature.properties.code) else {
                throw CountyMapError("feature \(index + 1): '\(feature.properties.code)' is not a division code")
            }
            let polygons: [[[[Double]]]]
            switch feature.geometry {
            case .polygon(let rings): polygons = [rings]
            case .multiPolygon(let parts): polygons = parts
            }
            var converted: [[[Point]]] = []
            for polygon in polygons {
                var rings: [[Point]] = []
                for ring in polygon {
                    var points: [Point] = []
                    for pair in ring {
                        guard pair.count >= 2, pair[0].isFinite, pair[1].isFinite, abs(pair[0]) <= 180,
                            abs(pair[1]) <= 90
                        else {
                            throw CountyMapError("feature \(index + 1) (\(code)): \(pair) is not a longitude/latitude")
                        }
                        points.append(Point(longitude: pair[0], latitude: pair[1]))
                    }
                    guard points.count >= 4 else {
                        throw CountyMapError("feature \(index + 1) (\(code)): a ring of \(points.count) points")
                    }
                    rings.append(points)
                }
                if !rings.isEmpty { converted.append(rings) }
            }
            guard !converted.isEmpty else { throw CountyMapError("feature \(index + 1) (\(code)) has no outline") }
            areas.append(Area(code: code, name: feature.properties.name, polygons: converted))
        }
        let codes = areas.map(\.code)
        if let twice = codes.first(where: { code in codes.filter { $0 == code }.count > 1 }) {
            throw CountyMapError("\(twice) has more than one feature")
        }
        self.areas = areas
    }

    /// The map, refused unless it holds exactly the topology's counties: a county without an outline would be
    /// missing from the map without a word, and an outline of no county would be coloured by nothing.
    package func checked(against topology: Topology) throws(CountyMapError) -> CountyMap {
        let counties = Set(topology.units(of: .county, under: topology.city.code).map(\.code))
        let mapped = Set(areas.map(\.code))
        let missing = counties.subtracting(mapped).sorted()
        let unknown = mapped.subtracting(counties).sorted()
        guard missing.isEmpty, unknown.isEmpty else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("no outline for \(missing.map(\.description).joined(separator: ", "))") }
            if !unknown.isEmpty {
                parts.append("outlines of no county: \(unknown.map(\.description).joined(separator: ", "))")
            }
            throw CountyMapError(parts.joined(separator: "; "))
        }
        return self
    }

    /// The counties drawn into a box `width` wide (the height follows the city's shape), north up, with
    /// each degree of longitude shortened by the cosine of the city's mean latitude so that shapes keep
    /// their proportions.
    package func drawing(width: Double = 560, margin: Double = 8) -> CountyDrawing {
        let points = areas.flatMap { $0.polygons.flatMap { $0.flatMap { $0 } } }
        guard let west = points.map(\.longitude).min(), let east = points.map(\.longitude).max(),
            let south = points.map(\.latitude).min(), let north = points.map(\.latitude).max()
        else { return CountyDrawing(width: width, height: 0, areas: []) }
        let squeeze = cos((south + north) / 2 * .pi / 180)
        let spanX = max((east - west) * squeeze, 1e-9)
        let spanY = max(north - south, 1e-9)
        let scale = (width - 2 * margin) / spanX
        let height = (spanY * scale + 2 * margin).rounded(.up)
        func x(_ point: Point) -> Double { margin + (point.longitude - west) * squeeze * scale }
        func y(_ point: Point) -> Double { margin + (north - point.latitude) * scale }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }

        let drawn = areas.map { area in
            var path = ""
            for polygon in area.polygons {
                for ring in polygon {
                    for (index, point) in ring.enumerated() {
                        path += (index == 0 ? "M" : "L") + number(x(point)) + "," + number(y(point))
                    }
                    path += "Z"
                }
            }
            // The label sits at the centroid of the county's largest piece.
            let largest = area.polygons.max { abs(signedArea($0[0])) < abs(signedArea($1[0])) } ?? []
            let centre = centroid(largest.first ?? [])
            return CountyDrawing.Area(
                unit: area.code.description, name: area.name, path: path,
                labelX: (x(centre) * 10).rounded() / 10, labelY: (y(centre) * 10).rounded() / 10)
        }
        return CountyDrawing(width: width, height: height, areas: drawn)
    }

    private func signedArea(_ ring: [Point]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0.longitude * $1.1.latitude - $1.1.longitude * $1.0.latitude }
            / 2
    }

    private func centroid(_ ring: [Point]) -> Point {
        let area = signedArea(ring)
        guard abs(area) > 1e-12 else { return ring.first ?? Point(longitude: 0, latitude: 0) }
        var cx = 0.0
        var cy = 0.0
        for (a, b) in zip(ring, ring.dropFirst()) {
            let cross = a.longitude * b.latitude - b.longitude * a.latitude
            cx += (a.longitude + b.longitude) * cross
            cy += (a.latitude + b.latitude) * cross
        }
        return Point(longitude: cx / (6 * area), latitude: cy / (6 * area))
    }
}

/// The counties as SVG paths in a `width` × `height` box, ready for a choropleth: the API serves this, and the
/// report draws it.
package struct CountyDrawing: Sendable, Codable, Equatable {
    package struct Area: Sendable, Codable, Equatable {
        package let unit: String
        package let name: String
        /// SVG path data in the drawing's coordinates.
        package let path: String
        /// Where the county's name goes: the centroid of its largest piece.
        package let labelX: Double
        package let labelY: Double
    }

    package let width: Double
    package let height: Double
    package let areas: [Area]
}

package struct CountyMapError: Error, Sendable, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// The part of GeoJSON (RFC 7946) the county file uses.
private enum GeoJSON {
    struct Collection: Decodable {
        let features: [Feature]
    }

    struct Feature: Decodable {
        struct Properties: Decodable {
            let code: String
            let name: String
        }
        let properties: Properties
        let geometry: Geometry
    }

    enum Geometry: Decodable {
        case polygon([[[Double]]])
        case multiPolygon([[[[Double]]]])

        private enum Keys: String, CodingKey { case type, coordinates }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            switch try container.decode(String.self, forKey: .type) {
            case "Polygon": self = .polygon(try container.decode([[[Double]]].self, forKey: .coordinates))
            case "MultiPolygon": self = .multiPolygon(try container.decode([[[[Double]]]].self, forKey: .coordinates))
            case let other:
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: container,
                    debugDescription: "geometry '\(other)' is neither Polygon nor MultiPolygon")
            }
        }
    }
}

import Domain
import Foundation
import TestSupport
import Testing
import TopologyFiles

@Suite("County outlines (Topology/counties.geojson) and their drawing")
struct CountyMapTests {
    var committed: Data {
        get throws {
            try #require(FileManager.default.contents(atPath: Fixtures.topologyDirectory + "/counties.geojson"))
        }
    }

    @Test("The committed outlines are exactly the division list's twelve counties, under its names")
    func committedOutlinesMatchTheTopology() throws {
        let topology = Fixtures.topology
        let map = try #require(try TopologyFiles(directory: Fixtures.topologyDirectory).loadCountyMap(for: topology))
        let counties = topology.children(of: topology.city.code)
        #expect(map.areas.map(\.code).sorted() == counties.map(\.code).sorted())
        for area in map.areas {
            #expect(area.name == topology[area.code]?.name, "\(area.code)")
        }
        // Every point lies in Changzhi's box (about 111.9–113.8 E, 35.8–37.2 N), and every ring is closed.
        for area in map.areas {
            for ring in area.polygons.flatMap({ $0 }) {
                #expect(ring.first == ring.last, "\(area.name): an open ring")
                #expect(
                    ring.allSatisfy { (111.9...113.8).contains($0.longitude) && (35.8...37.2).contains($0.latitude) },
                    "\(area.name)")
            }
        }
    }

    @Test("A map missing a county, or outlining a unit that is no county, is refused naming the codes")
    func codesMustMatch() throws {
        let topology = Fixtures.topology
        var json = try #require(try JSONSerialization.jsonObject(with: committed) as? [String: Any])
        var features = try #require(json["features"] as? [[String: Any]])
        let dropped = features.removeFirst()
        let droppedCode = try #require((dropped["properties"] as? [String: Any])?["code"] as? String)
        var stranger = dropped
        stranger["properties"] = ["code": "140471000000", "name": "高新区"]
        features.append(stranger)
        json["features"] = features
        let changed = try JSONSerialization.data(withJSONObject: json)
        let error = try #require(throws: CountyMapError.self) {
            try CountyMap(geoJSON: changed).checked(against: topology)
        }
        #expect(error.description.contains("no outline for \(droppedCode)"), "\(error)")
        #expect(error.description.contains("outlines of no county: 140471000000"), "\(error)")
    }

    /// A one-feature collection of `code` with `geometry` (JSON text).
    static func feature(_ geometry: String, code: String = "140403000000") -> String {
        #"{"features":[{"properties":{"code":"\#(code)","name":"n"},"geometry":\#(geometry)}]}"#
    }

    static let brokenCases: [(text: String, says: String)] = [
        ("not json", "not a GeoJSON"),
        (feature(#"{"type":"Polygon","coordinates":[]}"#, code: "x"), "not a division code"),
        (feature(#"{"type":"Point","coordinates":[1,2]}"#), "neither Polygon nor MultiPolygon"),
        (feature(#"{"type":"Polygon","coordinates":[[[1,2],[3,4],[1,2]]]}"#), "a ring of 3 points"),
        (feature(#"{"type":"Polygon","coordinates":[[[1,2],[3],[5,6],[1,2]]]}"#), "is not a longitude/latitude"),
        (feature(#"{"type":"Polygon","coordinates":[[[1,200],[3,4],[5,6],[1,200]]]}"#), "is not a longitude/latitude"),
        (feature(#"{"type":"MultiPolygon","coordinates":[]}"#), "has no outline"),
    ]

    @Test("Broken files are named errors, never a crash", arguments: brokenCases)
    func brokenFiles(text: String, says: String) {
        #expect {
            try CountyMap(geoJSON: Data(text.utf8))
        } throws: { error in
            (error as? CountyMapError)?.description.contains(says) == true
        }
    }

    @Test("The drawing keeps every point and label inside its box, north up, in the city's proportions")
    func drawingFitsItsBox() throws {
        let map = try CountyMap(geoJSON: committed)
        let drawing = map.drawing(width: 500, margin: 10)
        #expect(drawing.areas.count == 12)
        // About 1.2 degrees of latitude over 1.75 of longitude at 36.5 N (each 0.80 as long): 0.86 as high as wide.
        #expect((0.75...0.95).contains(drawing.height / drawing.width), "\(drawing.height)")
        for area in drawing.areas {
            let numbers = area.path.split(whereSeparator: { "MLZ,".contains($0) }).compactMap { Double($0) }
            #expect(numbers.count >= 8 && numbers.count % 2 == 0, "\(area.name)")
            let xs = stride(from: 0, to: numbers.count, by: 2).map { numbers[$0] }
            let ys = stride(from: 1, to: numbers.count, by: 2).map { numbers[$0] }
            #expect(
                xs.allSatisfy { (9.9...490.1).contains($0) }
                    && ys.allSatisfy { (9.9...(drawing.height - 9.9)).contains($0) })
            let (west, east) = (try #require(xs.min()), try #require(xs.max()))
            let (north, south) = (try #require(ys.min()), try #require(ys.max()))
            #expect((west...east).contains(area.labelX) && (north...south).contains(area.labelY), "\(area.name)")
        }
        // North up: 武乡县 (the north-east) is drawn above 长子县 (the south-west), and east of it.
        let wuxiang = try #require(drawing.areas.first { $0.name == "武乡县" })
        let zhangzi = try #require(drawing.areas.first { $0.name == "长子县" })
        #expect(wuxiang.labelY < zhangzi.labelY && wuxiang.labelX > zhangzi.labelX)
    }
}
